using System.Text;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>The lab guest carries Debian's qemu-guest-agent (lab/lab-up.sh stages it into the initramfs).</summary>
public sealed class GuestAgentFactAttribute : FactAttribute
{
    public const string AgentBinary = "/var/lib/kubestack-lab/qga/usr/sbin/qemu-ga";

    public GuestAgentFactAttribute()
    {
        if (LabEnvironment.WhyNoLab is { } reason) Skip = reason;
        else if (!File.Exists(AgentBinary)) Skip = $"the lab guest has no guest agent ({AgentBinary} missing: run lab/lab-up.sh guest with a Debian mirror)";
    }
}

/// <summary>
/// setGuestPassword and injectSshKey through libvirt and the QEMU guest agent running in the lab guest (busybox
/// initramfs + Debian's qemu-ga on the org.qemu.guest_agent.0 channel). The password is proven by reading the guest's
/// /etc/shadow through the agent and recomputing the SHA-512 crypt hash on the host; the keys by libvirt's own
/// virDomainAuthorizedSSHKeysGet. Without an agent channel: libvirt's LibvirtError; shut off:
/// VirtctlError. The password never appears in a message.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class GuestCredentialTests
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(180);
    private const string Key1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHXpEYi5Wk8fd3Kx4s1y3Y0QnK0wUQmQ9XGk5k3sJZ2B alice@lab";
    private const string Key2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvYk9bN3d1c2VyQGxhYi5leGFtcGxlLmNvbQbb2Xy0 bob@lab";

    [GuestAgentFact]
    public async Task Password_and_ssh_key_reach_the_running_guest_through_the_guest_agent()
    {
        using var kit = new NicTestKit();
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        var name = cleanup.Domain(LabEnvironment.UniqueName("cred"));
        var serial = Path.Combine(LabGuest.NewWorkDir(cleanup, name), "serial.log");
        using var dom = conn.DefineXml(NicTestKit.GuestXml(name, serial, null, NicTestKit.AgentChannel()));
        dom.Create();
        await Await.LineAsync(serial, "LAB-GUEST-AGENT started", BootTimeout);
        await WaitForAgentAsync(name);

        // setGuestPassword: /etc/shadow holds the SHA-512 crypt hash of exactly this password
        var ok = NicTestKit.AssertSucceeded(await kit.RunAsync(name, "setGuestPassword",
            new Dictionary<string, string> { ["os_type"] = "linux", ["user"] = "root", ["password"] = "kst-pw-one" }), "was set through the QEMU guest agent");
        Assert.DoesNotContain("kst-pw-one", ok.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("kst-pw-one", ok.View!.ToJsonString(), StringComparison.Ordinal);
        var hash = await ShadowHashAsync(name, "root");
        Assert.StartsWith("$6$", hash, StringComparison.Ordinal);
        Assert.Equal(hash, await CryptAsync("kst-pw-one", hash.Split('$')[2]));
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "setGuestPassword",
            new Dictionary<string, string> { ["os_type"] = "linux", ["user"] = "root", ["password"] = "kst-pw-two" }), "root");
        var second = await ShadowHashAsync(name, "root");
        Assert.Equal(second, await CryptAsync("kst-pw-two", second.Split('$')[2]));
        Assert.NotEqual(hash, second);

        // a user the guest does not have: the agent's chpasswd fails, libvirt reports it
        var refused = NicTestKit.AssertFailed(await kit.RunAsync(name, "setGuestPassword",
            new Dictionary<string, string> { ["os_type"] = "linux", ["user"] = "nobody", ["password"] = "kst-pw-three" }), ErrorClasses.LibvirtError, "libvirt reported");
        Assert.DoesNotContain("kst-pw-three", refused.Message, StringComparison.Ordinal);

        // injectSshKey: libvirt's own read-back lists it; again is success without a duplicate; a second key is appended
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "injectSshKey",
            new Dictionary<string, string> { ["os_type"] = "linux", ["user"] = "root", ["ssh_key"] = Key1 }), "ssh-ed25519 key was added");
        Assert.Equal([Key1], dom.GetAuthorizedSshKeys("root"));
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "injectSshKey",
            new Dictionary<string, string> { ["os_type"] = "linux", ["user"] = "root", ["ssh_key"] = Key1 }), "already authorized");
        NicTestKit.AssertSucceeded(await kit.RunAsync(name, "injectSshKey",
            new Dictionary<string, string> { ["os_type"] = "linux", ["user"] = "root", ["ssh_key"] = Key2 }), "was added");
        Assert.Equal(new[] { Key1, Key2 }.Order(StringComparer.Ordinal), dom.GetAuthorizedSshKeys("root").Order(StringComparer.Ordinal));
        Assert.Equal(new[] { Key1, Key2 }.Order(StringComparer.Ordinal), (await GuestFileAsync(name, "/root/.ssh/authorized_keys")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
    }

    [LabFact]
    public async Task Without_a_guest_agent_libvirt_refuses_and_a_shut_off_vm_is_not_edited_offline()
    {
        using var kit = new NicTestKit();
        using var conn = LibvirtConnection.Open(LabEnvironment.SystemUri);
        using var cleanup = new LibvirtCleanup(conn);
        var name = cleanup.Domain(LabEnvironment.UniqueName("noga"));
        var serial = Path.Combine(LabGuest.NewWorkDir(cleanup, name), "serial.log");
        using var dom = conn.DefineXml(NicTestKit.GuestXml(name, serial, null));

        // shut off: no offline editing (libguestfs is not used) → VirtctlError
        NicTestKit.AssertFailed(await kit.RunAsync(name, "setGuestPassword", new Dictionary<string, string> { ["os_type"] = "linux", ["user"] = "root", ["password"] = "kst-pw-off" }),
            ErrorClasses.VirtctlError, "the VM is shut off");
        NicTestKit.AssertFailed(await kit.RunAsync(name, "injectSshKey", new Dictionary<string, string> { ["os_type"] = "linux", ["user"] = "root", ["ssh_key"] = Key1 }),
            ErrorClasses.VirtctlError, "virt-customize");

        // running without an agent channel: libvirt's own refusal naming the agent; the password is not echoed
        dom.Create();
        var refused = NicTestKit.AssertFailed(await kit.RunAsync(name, "setGuestPassword", new Dictionary<string, string> { ["os_type"] = "linux", ["user"] = "root", ["password"] = "kst-pw-noga" }),
            ErrorClasses.LibvirtError, "guest agent");
        Assert.DoesNotContain("kst-pw-noga", refused.Message, StringComparison.Ordinal);
        NicTestKit.AssertFailed(await kit.RunAsync(name, "injectSshKey", new Dictionary<string, string> { ["os_type"] = "linux", ["user"] = "root", ["ssh_key"] = Key1 }),
            ErrorClasses.LibvirtError, "guest agent");
        NicTestKit.AssertFailed(await kit.RunAsync(name, "setGuestPassword", new Dictionary<string, string> { ["os_type"] = "linux", ["user"] = "root", ["password"] = "Bad Password!" }),
            ErrorClasses.VirtctlError, "setGuestPassword.password");
    }

    /// <summary>guest-ping answers (the agent connected to libvirt), bounded.</summary>
    private static async Task WaitForAgentAsync(string vm)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while ((await NicTestKit.ToolAsync("virsh", "-c", LabEnvironment.SystemUri, "qemu-agent-command", vm, """{"execute":"guest-ping"}""")).ExitCode != 0)
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"the guest agent of {vm} did not answer guest-ping within 60 s");
            await Task.Delay(500);
        }
    }

    private static async Task<JsonNode> AgentAsync(string vm, string command, JsonObject arguments) =>
        JsonNode.Parse(await NicTestKit.Sh("virsh", "-c", LabEnvironment.SystemUri, "qemu-agent-command", vm,
            new JsonObject { ["execute"] = command, ["arguments"] = arguments }.ToJsonString()))!["return"]!;

    /// <summary>A guest file's content, read by the agent (guest-file-open/read/close).</summary>
    private static async Task<string> GuestFileAsync(string vm, string path)
    {
        var handle = (long)(await AgentAsync(vm, "guest-file-open", new JsonObject { ["path"] = path, ["mode"] = "r" }));
        try
        {
            var read = await AgentAsync(vm, "guest-file-read", new JsonObject { ["handle"] = handle, ["count"] = 65536 });
            return Encoding.UTF8.GetString(Convert.FromBase64String((string)read["buf-b64"]!));
        }
        finally
        {
            await AgentAsync(vm, "guest-file-close", new JsonObject { ["handle"] = handle });
        }
    }

    private static async Task<string> ShadowHashAsync(string vm, string user) =>
        (await GuestFileAsync(vm, "/etc/shadow")).Split('\n').Select(l => l.Split(':')).Single(f => f[0] == user)[1];

    /// <summary>The SHA-512 crypt hash of a password with a salt, computed on the host (busybox mkpasswd).</summary>
    private static Task<string> CryptAsync(string password, string salt) => NicTestKit.Sh("busybox", "mkpasswd", "-m", "sha512", password, salt);
}
