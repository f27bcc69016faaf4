using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using k8s.Models;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.Network;

/// <summary>Why the OVS/OVN tests cannot run (null when ovs-vswitchd and the OVN northbound database answer).</summary>
public static class NetworkLab
{
    private static readonly Lazy<string?> OvsMissing = new(() =>
        !File.Exists("/usr/bin/ovs-vsctl") ? "Open vSwitch is not installed (run lab/lab-up.sh ovs ovn)"
        : !File.Exists("/var/run/openvswitch/db.sock") ? "ovsdb-server does not run (run lab/lab-up.sh ovs ovn)"
        : Run("ovs-appctl", "version").ExitCode != 0 ? "ovs-vswitchd does not answer (run lab/lab-up.sh ovs ovn)" : null);

    private static readonly Lazy<string?> OvnMissing = new(() =>
        OvsMissing.Value ?? (!File.Exists("/var/run/ovn/ovnnb_db.sock") || Run("ovn-nbctl", "--timeout=5", "show").ExitCode != 0
            ? "the OVN northbound database does not answer (run lab/lab-up.sh ovs ovn)" : null));

    public static string? WhyNoOvs => OvsMissing.Value;
    public static string? WhyNoOvn => OvnMissing.Value;

    public static BufferedCommandResult Run(string tool, params string[] args) =>
        Cli.Wrap(tool).WithArguments(args).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync().GetAwaiter().GetResult();

    /// <summary>Runs a tool and returns stdout; a failure fails the test with stderr.</summary>
    public static async Task<string> Sh(string tool, params string[] args)
    {
        var r = await Cli.Wrap(tool).WithArguments(args).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        Assert.True(r.ExitCode == 0, $"{tool} {string.Join(' ', args)} exited {r.ExitCode}: {r.StandardError}");
        return r.StandardOutput.Trim();
    }

    /// <summary>ovn-nbctl (or another tool) output as bare values, one line per row: <c>--data=bare --no-headings --columns=C find T cond</c>.</summary>
    public static async Task<IReadOnlyList<string>> NbFind(string table, string column, params string[] conditions) =>
        (await Sh("ovn-nbctl", ["--timeout=10", "--format=csv", "--data=bare", "--no-headings", $"--columns={column}", "find", table, .. conditions]))
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>One column of one record (<c>ovn-nbctl get</c>), quotes removed.</summary>
    public static async Task<string> NbGet(string table, string record, string column) =>
        (await Sh("ovn-nbctl", "--timeout=10", "get", table, record, column)).Trim('"');

    /// <summary>Waits until ovn-northd has turned the northbound contents into southbound flows, then lists the datapath's logical flows.</summary>
    public static async Task<string> LogicalFlows(string datapath)
    {
        await Sh("ovn-nbctl", "--timeout=20", "--wait=sb", "sync");
        return await Sh("ovn-sbctl", "--timeout=10", "lflow-list", datapath);
    }

    /// <summary>Polls an asynchronous condition every 100 ms until it holds or the timeout passes (no fixed sleeps).</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds:0.#} s");
            await Task.Delay(100);
        }
    }

    /// <summary>A short unique name (bridge names are limited to 12 characters; interface names to 15).</summary>
    public static string Short(string prefix) => $"kst-{prefix}{Guid.NewGuid().ToString("N")[..5]}";
}

public sealed class OvsFactAttribute : FactAttribute
{
    public OvsFactAttribute() { if (NetworkLab.WhyNoOvs is { } r) Skip = r; }
}

public sealed class OvnFactAttribute : FactAttribute
{
    public OvnFactAttribute() { if (NetworkLab.WhyNoOvn is { } r) Skip = r; }
}

/// <summary>Runs network handlers directly on a resource and removes every OVS/OVN/netns object a test registers.</summary>
public sealed class NetworkTestKit : IAsyncDisposable
{
    public const string Node = "lab-node";
    private readonly List<Func<Task>> _undo = [];

    public NetworkHost Host { get; } = new();
    public OvsVsctl Ovs => Host.Ovs;
    public OvnNbctl Ovn => Host.Ovn;

    public static Task<HandlerResult> RunAsync(ILifecycleHandler handler, string name, JsonObject parameters, int attempt = 1,
        IDictionary<string, string>? annotations = null)
    {
        var op = CatalogLoader.Default.Find(handler.Kind, handler.Key) ?? throw new InvalidOperationException($"{handler.Key} is not in the catalog.");
        var obj = new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = handler.Kind,
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Annotations = annotations },
            Spec = new KubeStackSpec { Lifecycle = new JsonObject { [handler.Key] = parameters.DeepClone() } },
        };
        return handler.HandleAsync(new RequestContext
        {
            Object = obj,
            Operation = op,
            Parameters = parameters,
            NodeName = Node,
            Attempt = attempt,
            Logger = NullLogger.Instance,
        }, CancellationToken.None);
    }

    public void OnDispose(Func<Task> undo) => _undo.Add(undo);

    public void Bridge(string name) => OnDispose(() => Ignore("ovs-vsctl", "--if-exists", "del-br", name));
    public void Switch(string name) => OnDispose(() => Ignore("ovn-nbctl", "--if-exists", "ls-del", name));
    public void Router(string name) => OnDispose(() => Ignore("ovn-nbctl", "--if-exists", "lr-del", name));
    public void AddressSet(string name) => OnDispose(() => Ignore("ovn-nbctl", "--if-exists", "destroy", "Address_Set", name));
    public void Link(string name) => OnDispose(() => Ignore("ip", "link", "del", name));
    public void Netns(string name) => OnDispose(() => Ignore("ip", "netns", "del", name));

    /// <summary>A veth pair on the host (a stand-in for a NIC a bridge takes over); both ends up.</summary>
    public async Task<string> VethAsync(string name)
    {
        await NetworkLab.Sh("ip", "link", "add", name, "type", "veth", "peer", "name", name + "p");
        Link(name);
        await NetworkLab.Sh("ip", "link", "set", name, "up");
        await NetworkLab.Sh("ip", "link", "set", name + "p", "up");
        return name;
    }

    /// <summary>An OVN DHCP_Options row left by a switch (removed at the end too).</summary>
    public void DhcpOf(string switchName) => OnDispose(async () =>
    {
        var rows = await Ovn.FindAsync("DHCP_Options", ["_uuid"], [$"external_ids:kubestack-switch=\"{switchName}\""]);
        foreach (var r in rows) await Ignore("ovn-nbctl", "destroy", "DHCP_Options", r.Uuid);
    });

    /// <summary>An OVN switch made by createSwitch (removed at the end with its DHCP options and floating-IP router).</summary>
    public async Task<HandlerResult.Success> SwitchAsync(string name, params (string Key, string Value)[] parameters)
    {
        Switch(name);
        DhcpOf(name);
        Router("lr-" + name);
        return AssertOk(await RunAsync(new CreateSwitchHandler(Host), name, P(parameters)));
    }

    /// <summary>A VM's l3bridge port on an OVN switch, made as VM create makes it (OvnVmPorts); returns the port name.</summary>
    public async Task<string> VmPortAsync(string vm, string switchName, string mac, string? ip)
    {
        var port = "kst-p-" + Guid.NewGuid().ToString("N")[..12];
        OnDispose(() => Ignore("ovn-nbctl", "--if-exists", "lsp-del", port));
        await new OvnVmPorts(Ovn).EnsurePortAsync(vm, switchName, port, mac, ip);
        return port;
    }

    /// <summary>
    /// An OVS internal interface on br-int with external_ids:iface-id = the logical port (what libvirt makes for an
    /// l3bridge NIC): ovn-controller binds the port to this chassis.
    /// </summary>
    public async Task<string> BoundInterfaceAsync(string logicalPort)
    {
        var iface = NetworkLab.Short("i");
        OnDispose(() => Ignore("ovs-vsctl", "--if-exists", "del-port", "br-int", iface));
        await NetworkLab.Sh("ovs-vsctl", "add-port", "br-int", iface, "--", "set", "Interface", iface, "type=internal",
            $"external_ids:iface-id={logicalPort}");
        return iface;
    }

    public static JsonObject P(params (string Key, string Value)[] items)
    {
        var o = new JsonObject();
        foreach (var (k, v) in items) o[k] = v;
        return o;
    }

    public static void AssertFailed(HandlerResult r, string errorClass, string fragment)
    {
        var f = Assert.IsType<HandlerResult.Failure>(r);
        Assert.Equal(errorClass, f.ErrorClass);
        Assert.Contains(fragment, f.Message, StringComparison.Ordinal);
    }

    public static HandlerResult.Success AssertOk(HandlerResult r) =>
        r as HandlerResult.Success ?? throw new Xunit.Sdk.XunitException($"expected success, got {r}");

    private static async Task Ignore(string tool, params string[] args) =>
        await Cli.Wrap(tool).WithArguments(args).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();

    public async ValueTask DisposeAsync()
    {
        for (var i = _undo.Count - 1; i >= 0; i--)
        {
            try { await _undo[i](); } catch (Exception) { /* best effort: lab-down --purge removes kst-* leftovers */ }
        }
    }
}
