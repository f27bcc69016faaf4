using System.Text.Json.Nodes;
using k8s.Models;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Hosting;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.NodeAgent.Tests.Lifecycle.VmPower;

/// <summary>Runs when libvirt.so.0 loads (libvirt's test:///default driver needs no daemon).</summary>
public sealed class TestDriverFactAttribute : FactAttribute
{
    public TestDriverFactAttribute()
    {
        if (!LibvirtLibrary.IsAvailable(out var reason))
        {
            Skip = reason;
        }
    }
}

/// <summary>
/// The seed's state rules and the exactly-once exceptions of the power handlers, on libvirt's test driver (a private
/// connection per test: test:///default state is per process, so each test defines its own domain).
/// </summary>
public sealed class VmPowerRulesTests : IDisposable
{
    private readonly LibvirtConnection _conn;
    private readonly VmHost _host;
    private readonly string _name = "kst-unit-" + Guid.NewGuid().ToString("N")[..8];

    public VmPowerRulesTests()
    {
        if (!LibvirtLibrary.IsAvailable(out _))
        {
            _conn = null!;
            _host = null!;
            return;
        }

        _conn = LibvirtConnection.Open("test:///default");
        _host = new VmHost(new LibvirtHost(() => _conn), new AgentOptions { NodeName = "unit", DomainType = DomainType.Qemu, VmStopTimeout = TimeSpan.FromMilliseconds(1) });
        var xml = $"<domain type='test'><name>{_name}</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>";
        using var domain = _conn.DefineXml(xml);
        domain.Create();
    }

    private RequestContext Context(string key, int attempt = 1, long generation = 1) => new()
    {
        Object = new KubeStackResource
        {
            Kind = Kinds.VirtualMachine,
            Metadata = new V1ObjectMeta { Name = _name, NamespaceProperty = "default", Uid = Guid.NewGuid().ToString(), Generation = generation },
        },
        Operation = CatalogLoader.Default.Find(Kinds.VirtualMachine, key)!,
        Parameters = [],
        NodeName = "unit",
        Attempt = attempt,
        Logger = NullLogger.Instance,
    };

    private DomainState State()
    {
        using var d = _conn.LookupDomainByName(_name);
        return d.GetState().State;
    }

    private static void AssertFailed(HandlerResult result, string errorClass, string part)
    {
        var failure = Assert.IsType<HandlerResult.Failure>(result);
        Assert.Equal(errorClass, failure.ErrorClass);
        Assert.Contains(part, failure.Message, StringComparison.Ordinal);
    }

    [TestDriverFact]
    public async Task Starting_a_running_vm_fails_but_a_resumed_attempt_finds_it_started()
    {
        AssertFailed(await new StartVMHandler(_host).HandleAsync(Context("startVM"), default), ErrorClasses.LibvirtError, "is Running");
        var resumed = Assert.IsType<HandlerResult.Success>(await new StartVMHandler(_host).HandleAsync(Context("startVM", attempt: 2), default));
        Assert.Equal(PowerStates.Running, resumed.PowerState);
    }

    [TestDriverFact]
    public async Task Suspending_twice_fails_and_resuming_a_running_vm_fails()
    {
        var suspended = Assert.IsType<HandlerResult.Success>(await new SuspendVMHandler(_host).HandleAsync(Context("suspendVM"), default));
        Assert.Equal(PowerStates.Paused, suspended.PowerState);
        Assert.Equal(DomainState.Paused, State());
        AssertFailed(await new SuspendVMHandler(_host).HandleAsync(Context("suspendVM"), default), ErrorClasses.LibvirtError, "already suspended");
        Assert.IsType<HandlerResult.Success>(await new ResumeVMHandler(_host).HandleAsync(Context("resumeVM"), default));
        AssertFailed(await new ResumeVMHandler(_host).HandleAsync(Context("resumeVM"), default), ErrorClasses.LibvirtError, "not suspended");
    }

    [TestDriverFact]
    public async Task Stopping_a_stopped_vm_fails_unless_a_resumed_attempt_finds_its_own_effect()
    {
        // (The ACPI shutdown itself is proven on the lab: the test driver refuses the ACPI flag.)
        Assert.IsType<HandlerResult.Success>(await new StopVMForceHandler(_host).HandleAsync(Context("stopVMForce"), default));
        var stop = new StopVMHandler(_host, TimeProvider.System);
        AssertFailed(await stop.HandleAsync(Context("stopVM"), default), ErrorClasses.LibvirtError, "already shut down");
        var resumed = Assert.IsType<HandlerResult.Success>(await stop.HandleAsync(Context("stopVM", attempt: 2), default));
        Assert.Equal(PowerStates.Shutdown, resumed.PowerState);
        AssertFailed(await new StopVMForceHandler(_host).HandleAsync(Context("stopVMForce"), default), ErrorClasses.LibvirtError, "already powered off");
        Assert.IsType<HandlerResult.Success>(await new StopVMForceHandler(_host).HandleAsync(Context("stopVMForce", attempt: 2), default));
    }

    [TestDriverFact]
    public async Task Deleting_a_running_vm_is_refused_and_a_missing_domain_is_a_virtlet_error()
    {
        AssertFailed(await new DeleteVMHandler(_host).HandleAsync(Context("deleteVM"), default), ErrorClasses.LibvirtError, "must be shut down");
        Assert.IsType<HandlerResult.Success>(await new StopVMForceHandler(_host).HandleAsync(Context("stopVMForce"), default));
        var deleted = await new DeleteVMHandler(_host).HandleAsync(Context("deleteVM"), default);
        Assert.True(deleted is HandlerResult.Success, deleted.ToString());
        Assert.Null(_conn.TryLookupDomainByName(_name));
        AssertFailed(await new StartVMHandler(_host).HandleAsync(Context("startVM"), default), ErrorClasses.VirtletError, "has no libvirt domain");
        Assert.IsType<HandlerResult.Success>(await new DeleteVMHandler(_host).HandleAsync(Context("deleteVM", attempt: 2), default));
    }

    [Theory]
    [InlineData(DomainState.Running, "Running")]
    [InlineData(DomainState.Blocked, "Running")]
    [InlineData(DomainState.Paused, "Paused")]
    [InlineData(DomainState.Shutoff, "Shutdown")]
    [InlineData(DomainState.Shutdown, "ShuttingDown")]
    [InlineData(DomainState.Crashed, "Crashed")]
    [InlineData(DomainState.PmSuspended, "PMSuspended")]
    [InlineData(DomainState.NoState, "NoState")]
    public void Libvirt_states_map_to_the_documented_power_states(DomainState state, string power) =>
        Assert.Equal(power, PowerStates.Of(state));

    [Fact]
    public void Vm_node_settings_come_from_configuration_and_bad_values_name_the_setting()
    {
        var options = AgentOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["NODE_NAME"] = "n1",
            ["KUBESTACK_DOMAIN_TYPE"] = "qemu",
            ["KUBESTACK_MACHINE"] = "q35",
            ["KUBESTACK_SERIAL_LOG_DIR"] = "/var/log/x",
            ["KUBESTACK_VM_STOP_TIMEOUT_SECONDS"] = "7",
            ["KUBESTACK_VM_RESYNC_SECONDS"] = "9",
        }).Build());
        Assert.Equal(DomainType.Qemu, options.DomainType);
        Assert.Equal("q35", options.Machine);
        Assert.Equal("/var/log/x", options.SerialLogDirectory);
        Assert.Equal(TimeSpan.FromSeconds(7), options.VmStopTimeout);
        Assert.Equal(TimeSpan.FromSeconds(9), options.VmResyncPeriod);
        var settings = new VmHost(new LibvirtHost(() => throw new InvalidOperationException("not opened")), options).NodeSettings;
        Assert.Equal("qemu", settings.DomainType);
        Assert.Equal("q35", settings.Machine);

        var bad = Assert.Throws<ArgumentException>(() => AgentOptions.FromConfiguration(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["NODE_NAME"] = "n1", ["KUBESTACK_MACHINE"] = "virt" }).Build()));
        Assert.Contains("KUBESTACK_MACHINE", bad.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (_conn is null)
        {
            return;
        }

        using (var d = _conn.TryLookupDomainByName(_name))
        {
            if (d is not null)
            {
                if (d.IsActive())
                {
                    d.Destroy();
                }

                d.Undefine();
            }
        }

        _conn.Dispose();
    }
}
