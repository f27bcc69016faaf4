using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle.VmLifecycle;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>
/// autoStartVM end to end (API emulator + the agent's real controller and VM watcher + libvirtd): a highly available
/// VM destroyed behind the agent's back (<c>virsh destroy</c>) is started again by the agent, with a
/// HighAvailabilityRestarted Event and views that follow; a requested stop is respected; after <c>disable=true</c> a
/// destroyed VM stays stopped. libvirt autostart and the metadata mark follow the request.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class AutoStartVmTests
{
    private static readonly TimeSpan RestartTimeout = TimeSpan.FromSeconds(60);

    [LabFact]
    public async Task A_highly_available_vm_destroyed_behind_the_agents_back_is_started_again_until_disabled()
    {
        var name = LabEnvironment.UniqueName("ha");
        await using var lab = await VmLab.CreateAsync(name, LibvirtConnection.Open(LabEnvironment.SystemUri));
        await using var h = await VmAgentHarness.StartAsync(lab.SerialDir);
        lab.Cleanup.Domain(name);
        var conn = h.Connection;

        await h.ApplyAsync(name, "createAndStartVMFromISO", lab.IsoInstall());
        VmAssert.Succeeded(await h.FinishedAsync(name, "createAndStartVMFromISO"), "createAndStartVMFromISO");

        // autoStartVM: libvirt autostart and the high-availability mark (visible in spec.domain's metadata)
        var vm = await h.RunAsync(name, "autoStartVM");
        VmAssert.Succeeded(vm, "autoStartVM");
        using (var d = conn.LookupDomainByName(name))
        {
            Assert.True(d.GetAutostart());
            Assert.True(VmHighAvailability.IsMarked(d));
            Assert.True(VmHighAvailability.IsMarkedLive(d));
        }

        Assert.Contains("high-availability", vm.Spec.Domain!.ToJsonString(), StringComparison.Ordinal);
        var idBefore = Id(conn, name);

        // virsh destroy behind the agent's back: the watcher starts it again (a new QEMU process: a new domain id)
        await VmAgentHarness.ToolAsync("virsh", "-c", LabEnvironment.SystemUri, "destroy", name);
        var restarted = await h.EventAsync(name, e => e.Reason == EventReasons.HighAvailabilityRestarted, "high-availability restart", RestartTimeout);
        Assert.Equal("Warning", restarted.Type);
        Assert.Contains("started it again", restarted.Message, StringComparison.Ordinal);
        await WaitAsync(() => Id(conn, name) is { } id && id != idBefore, "the VM running again as a new QEMU process");
        vm = await h.WaitForAsync(name, o => o.Spec.PowerState == PowerStates.Running && o.Status?.PowerState == PowerStates.Running
                                             && JsonNode.DeepEquals(LiveView(conn, name), o.Spec.Domain),
            "views of the restarted VM", RestartTimeout);
        VmAssert.ViewsMatchLibvirt(vm, conn, PowerStates.Running, DomainState.Running);
        Assert.Equal(1, h.Watcher!.HighAvailabilityRestarts);

        // a requested stop is respected: the VM stays shut off, even when the watcher looks at it again
        vm = await h.RunAsync(name, "stopVMForce");
        VmAssert.Succeeded(vm, "stopVMForce");
        Assert.False(await h.Watcher.RefreshAsync(vm, "test: after a requested stop", CancellationToken.None));
        Assert.Equal(DomainState.Shutoff, State(conn, name));
        Assert.Equal(1, h.Watcher.HighAvailabilityRestarts);

        // disable=true: autostart off, mark gone; a destroy behind the agent's back now leaves it stopped
        VmAssert.Succeeded(await h.RunAsync(name, "startVM"), "startVM");
        vm = await h.RunAsync(name, "autoStartVM", new JsonObject { ["disable"] = true });
        VmAssert.Succeeded(vm, "autoStartVM");
        using (var d = conn.LookupDomainByName(name))
        {
            Assert.False(d.GetAutostart());
            Assert.False(VmHighAvailability.IsMarked(d));
        }

        await VmAgentHarness.ToolAsync("virsh", "-c", LabEnvironment.SystemUri, "destroy", name);
        vm = await h.WaitForAsync(name, o => o.Spec.PowerState == PowerStates.Shutdown, "the watcher recording the out-of-band stop", RestartTimeout);
        Assert.Equal(DomainState.Shutoff, State(conn, name));
        Assert.Equal(1, h.Watcher.HighAvailabilityRestarts);
        Assert.Single(await h.EventsAsync(name), e => e.Reason == EventReasons.HighAvailabilityRestarted);
    }

    [LabFact]
    public async Task AutoStartVM_fails_with_VirtletError_without_a_domain_and_LibvirtError_on_a_transient_vm()
    {
        using var lab = new DeviceHandlerLab("ha");
        var handler = new AutoStartVMHandler(lab.Host);
        CdromVncHandlerKit.AssertFailed(await CdromVncHandlerKit.RunAsync(handler, "kst-ha-nosuchvm", []), ErrorClasses.VirtletError, "has no libvirt domain");

        var name = lab.Name;
        using var transient = lab.Conn.CreateXml(CdromVncHandlerKit.DomainXml(name));
        CdromVncHandlerKit.AssertFailed(await CdromVncHandlerKit.RunAsync(handler, name, []), ErrorClasses.LibvirtError, "is transient");
        CdromVncHandlerKit.AssertFailed(await CdromVncHandlerKit.RunAsync(handler, name, new() { ["disable"] = "sometimes" }), ErrorClasses.VirtctlError, "autoStartVM.disable must be true or false");
        Assert.False(transient.GetAutostart());
    }

    private static JsonNode? LiveView(LibvirtConnection conn, string name)
    {
        using var d = conn.LookupDomainByName(name);
        return KubeStack.Contracts.Xml.LibvirtXmlJson.ToJson(d.GetXmlDesc(DomainXmlFlags.None), KubeStack.Contracts.Xml.LibvirtDocument.Domain);
    }

    private static uint? Id(LibvirtConnection conn, string name)
    {
        using var d = conn.LookupDomainByName(name);
        return d.GetId();
    }

    private static DomainState State(LibvirtConnection conn, string name)
    {
        using var d = conn.LookupDomainByName(name);
        return d.GetState().State;
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + RestartTimeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} did not happen in time.");
            await Task.Delay(100);
        }
    }
}
