using System.Diagnostics;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.HostIntegration.Tests.Lifecycle.VmLifecycle;

/// <summary>
/// The VM lifecycle through the real agent runtime (API emulator) on real libvirtd with TCG guests from the lab ISO.
/// Guest boots are expensive (~10-20 s each): the power test shares one guest across all its steps.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class VmLifecycleTests
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(90);

    [LabFact]
    public async Task A_vm_installed_from_the_iso_boots_and_follows_every_power_operation_with_views_matching_libvirt()
    {
        var name = LabEnvironment.UniqueName("vm");
        await using var lab = await VmLab.CreateAsync(name, LibvirtConnection.Open(LabEnvironment.SystemUri));
        await using var h = await VmAgentHarness.StartAsync(lab.SerialDir);
        lab.Cleanup.Domain(name);
        var conn = h.Connection;
        var log = lab.SerialLog(name);

        // Create and start from the ISO: the domain runs and the guest really booted from the CD.
        await h.ApplyAsync(name, "createAndStartVMFromISO", lab.IsoInstall());
        var vm = await h.FinishedAsync(name, "createAndStartVMFromISO");
        VmAssert.Succeeded(vm, "createAndStartVMFromISO");
        VmAssert.ViewsMatchLibvirt(vm, conn, PowerStates.Running, DomainState.Running);
        Assert.Contains(Finalizers.HostCleanup, vm.Metadata.Finalizers ?? []);
        var booted = await Await.LineAsync(log, "LAB-GUEST-BOOTED", BootTimeout);
        Assert.Contains("source=iso", booted, StringComparison.Ordinal);

        // Starting a running VM is an error (seed): Failed, LibvirtError, Warning Event; the guest keeps running.
        vm = await h.RunAsync(name, "startVM");
        VmAssert.Failed(vm, "startVM", ErrorClasses.LibvirtError, "is Running");
        await h.EventAsync(name, e => e.Type == "Warning" && e.Reason == ErrorClasses.LibvirtError && e.Message.Contains("startVM", StringComparison.Ordinal), "startVM failure");
        Assert.Equal(DomainState.Running, conn.LookupDomainByName(name).GetState().State);

        vm = await h.RunAsync(name, "suspendVM");
        VmAssert.Succeeded(vm, "suspendVM");
        VmAssert.ViewsMatchLibvirt(vm, conn, PowerStates.Paused, DomainState.Paused);

        vm = await h.RunAsync(name, "suspendVM");
        VmAssert.Failed(vm, "suspendVM", ErrorClasses.LibvirtError, "already suspended");

        vm = await h.RunAsync(name, "resumeVM");
        VmAssert.Succeeded(vm, "resumeVM");
        VmAssert.ViewsMatchLibvirt(vm, conn, PowerStates.Running, DomainState.Running);

        vm = await h.RunAsync(name, "resumeVM");
        VmAssert.Failed(vm, "resumeVM", ErrorClasses.LibvirtError, "not suspended");

        // Reset: the guest boots again (a second LAB-GUEST-BOOTED after the reset).
        var lines = Await.LineCount(log);
        vm = await h.RunAsync(name, "resetVM");
        VmAssert.Succeeded(vm, "resetVM");
        VmAssert.ViewsMatchLibvirt(vm, conn, PowerStates.Running, DomainState.Running);
        await Await.LineAsync(log, "LAB-GUEST-BOOTED", BootTimeout, afterLine: lines);

        // Reboot (ACPI through the guest's acpid): it boots a third time.
        lines = Await.LineCount(log);
        vm = await h.RunAsync(name, "rebootVM");
        VmAssert.Succeeded(vm, "rebootVM");
        await Await.LineAsync(log, "LAB-GUEST-BOOTED", BootTimeout, afterLine: lines);
        Assert.Equal(DomainState.Running, conn.LookupDomainByName(name).GetState().State);

        // ACPI stop: the guest powers itself off; the request polls until libvirt says shut off.
        vm = await h.RunAsync(name, "stopVM");
        VmAssert.Succeeded(vm, "stopVM");
        VmAssert.ViewsMatchLibvirt(vm, conn, PowerStates.Shutdown, DomainState.Shutoff);

        vm = await h.RunAsync(name, "stopVM");
        VmAssert.Failed(vm, "stopVM", ErrorClasses.LibvirtError, "already shut down");

        // Out of band: virsh start behind Kubernetes' back → views follow within ~2 s, with a VirtletError Event.
        await VmAgentHarness.ToolAsync("virsh", "-c", LabEnvironment.SystemUri, "start", name);
        var sw = Stopwatch.StartNew();
        vm = await h.WaitForAsync(name, o => o.Spec.PowerState == PowerStates.Running && o.Status?.PowerState == PowerStates.Running,
            "the out-of-band start showing", TimeSpan.FromSeconds(15));
        Console.WriteLine($"views followed virsh start after {sw.Elapsed.TotalSeconds:0.0} s"); // measured, not asserted
        VmAssert.ViewsMatchLibvirt(vm, conn, PowerStates.Running, DomainState.Running);
        await h.EventAsync(name, e => e.Type == "Warning" && e.Reason == ErrorClasses.VirtletError && e.Message.Contains("to Running (", StringComparison.Ordinal),
            "VirtletError (started outside)", TimeSpan.FromSeconds(5));

        await VmAgentHarness.ToolAsync("virsh", "-c", LabEnvironment.SystemUri, "destroy", name);
        sw.Restart();
        vm = await h.WaitForAsync(name, o => o.Spec.PowerState == PowerStates.Shutdown && o.Status?.PowerState == PowerStates.Shutdown,
            "the out-of-band destroy showing", TimeSpan.FromSeconds(15));
        Console.WriteLine($"views followed virsh destroy after {sw.Elapsed.TotalSeconds:0.0} s"); // measured, not asserted
        VmAssert.ViewsMatchLibvirt(vm, conn, PowerStates.Shutdown, DomainState.Shutoff);
        await h.EventAsync(name, e => e.Type == "Warning" && e.Reason == ErrorClasses.VirtletError && e.Message.Contains("to Shutdown (", StringComparison.Ordinal),
            "VirtletError (destroyed outside)", TimeSpan.FromSeconds(5));

        // Start again through Kubernetes, then force it off.
        vm = await h.RunAsync(name, "startVM");
        VmAssert.Succeeded(vm, "startVM");
        VmAssert.ViewsMatchLibvirt(vm, conn, PowerStates.Running, DomainState.Running);

        // Deleting a running VM is refused (seed), nothing changes.
        vm = await h.RunAsync(name, "deleteVM");
        VmAssert.Failed(vm, "deleteVM", ErrorClasses.LibvirtError, "must be shut down");
        Assert.NotNull(conn.TryLookupDomainByName(name));

        vm = await h.RunAsync(name, "stopVMForce");
        VmAssert.Succeeded(vm, "stopVMForce");
        VmAssert.ViewsMatchLibvirt(vm, conn, PowerStates.Shutdown, DomainState.Shutoff);

        // deleteVM: the domain is undefined, the object deleted, the disk kept (no remove_all_storage).
        await h.ApplyDeleteAsync(name);
        await h.WaitGoneAsync(name);
        Assert.Null(conn.TryLookupDomainByName(name));
        Assert.True(File.Exists(lab.Disk), "deleteVM without remove_all_storage must keep the disk");
    }
}
