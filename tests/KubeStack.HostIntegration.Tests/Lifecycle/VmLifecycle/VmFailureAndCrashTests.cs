using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.HostIntegration.Tests.Lifecycle.VmLifecycle;

/// <summary>Refused creates leave nothing behind; a crash after the host call still ends with exactly one domain.</summary>
[Collection(LabCollection.Name)]
public sealed class VmFailureAndCrashTests
{
    [LabFact]
    public async Task Creates_with_a_missing_iso_or_a_disk_outside_the_allowed_roots_fail_with_virtctl_error_and_define_nothing()
    {
        var name = LabEnvironment.UniqueName("vmf");
        await using var lab = await VmLab.CreateAsync(name, LibvirtConnection.Open(LabEnvironment.SystemUri));
        await using var h = await VmAgentHarness.StartAsync(lab.SerialDir);

        // A missing ISO.
        var missingIso = lab.Cleanup.Domain(name + "-iso");
        await h.ApplyAsync(missingIso, "createAndStartVMFromISO", lab.IsoInstall(iso: $"{VmLab.ImagesDir}/{name}-missing.iso"));
        var vm = await h.FinishedAsync(missingIso, "createAndStartVMFromISO");
        VmAssert.Failed(vm, "createAndStartVMFromISO", ErrorClasses.VirtctlError, "does not exist on node");
        await h.EventAsync(missingIso, e => e.Type == "Warning" && e.Reason == ErrorClasses.VirtctlError, "VirtctlError");
        Assert.Null(h.Connection.TryLookupDomainByName(missingIso));
        Assert.Null(vm.Spec.PowerState);

        // A disk whose path is under /var/lib/libvirt but links to /tmp: refused after resolving the link.
        var outside = lab.Cleanup.Domain(name + "-out");
        var target = lab.Cleanup.PathToDelete($"/tmp/{name}-outside.qcow2");
        await VmAgentHarness.ToolAsync("qemu-img", "create", "-q", "-f", "qcow2", target, "16M");
        var link = lab.Cleanup.PathToDelete($"{VmLab.ImagesDir}/{name}-link.qcow2");
        File.CreateSymbolicLink(link, target);
        await h.ApplyAsync(outside, "createAndStartVMFromISO", lab.IsoInstall(disk: link));
        vm = await h.FinishedAsync(outside, "createAndStartVMFromISO");
        VmAssert.Failed(vm, "createAndStartVMFromISO", ErrorClasses.VirtctlError, "outside the allowed directories");
        await h.EventAsync(outside, e => e.Type == "Warning" && e.Reason == ErrorClasses.VirtctlError, "VirtctlError");
        Assert.Null(h.Connection.TryLookupDomainByName(outside));

        // Power operations on a VM that has no domain: VirtletError, nothing created.
        vm = await h.RunAsync(outside, "startVM");
        VmAssert.Failed(vm, "startVM", ErrorClasses.VirtletError, "has no libvirt domain");
        Assert.Null(h.Connection.TryLookupDomainByName(outside));

        // kubectl delete of objects without a domain: the cleanup finds nothing to do and lets them go.
        await h.DeleteAsync(missingIso);
        await h.DeleteAsync(outside);
        await h.WaitGoneAsync(missingIso);
        await h.WaitGoneAsync(outside);
    }

    [LabFact]
    public async Task An_agent_killed_after_the_host_call_of_createAndStartVMFromISO_finishes_it_once_with_one_domain_after_restart()
    {
        var name = LabEnvironment.UniqueName("vmc");
        await using var lab = await VmLab.CreateAsync(name, LibvirtConnection.Open(LabEnvironment.SystemUri));
        await using var h = await VmAgentHarness.StartAsync(lab.SerialDir, crashAt: CrashPoints.AfterHostCall);
        lab.Cleanup.Domain(name);

        await h.ApplyAsync(name, "createAndStartVMFromISO", lab.IsoInstall());
        await h.WaitCrashedAsync();
        var crashed = await h.GetAsync(name);
        Assert.Equal(RequestPhase.Running, crashed!.Status?.Lifecycle?.Phase);
        Assert.NotNull(crashed.Spec.Lifecycle);
        using (var domain = h.Connection.LookupDomainByName(name))
        {
            Assert.True(domain.IsActive(), "the host call (define + start) happened before the crash");
        }

        await h.StartAgentAsync();
        var vm = await h.FinishedAsync(name, "createAndStartVMFromISO");
        VmAssert.Succeeded(vm, "createAndStartVMFromISO");
        Assert.Equal(2, vm.Status!.Lifecycle!.Attempts);
        VmAssert.ViewsMatchLibvirt(vm, h.Connection, PowerStates.Running, DomainState.Running);
        Assert.Single(h.Connection.ListAllDomains(), d => d.Name == name);
        var succeeded = (await h.EventsAsync(name)).Where(e => e.Reason == "LifecycleSucceeded").Sum(e => e.Count ?? 1);
        Assert.Equal(1, succeeded);

        // kubectl delete: the cleanup powers the guest off and undefines it; the disk stays.
        await h.DeleteAsync(name);
        await h.WaitGoneAsync(name);
        Assert.Null(h.Connection.TryLookupDomainByName(name));
        Assert.True(File.Exists(lab.Disk));
    }

    [LabFact]
    public async Task A_vm_created_from_a_disk_image_file_is_defined_on_that_disk_and_started()
    {
        var name = LabEnvironment.UniqueName("vmi");
        await using var lab = await VmLab.CreateAsync(name, LibvirtConnection.Open(LabEnvironment.SystemUri));
        await using var h = await VmAgentHarness.StartAsync(lab.SerialDir);
        lab.Cleanup.Domain(name);

        // The lab has no bootable disk image: the guest sits in the BIOS, which is enough to prove define + start.
        var parameters = lab.IsoInstall();
        parameters["disk"] = lab.Disk;
        await h.ApplyAsync(name, "createAndStartVMFromImage", parameters);
        var vm = await h.FinishedAsync(name, "createAndStartVMFromImage");
        VmAssert.Succeeded(vm, "createAndStartVMFromImage");
        VmAssert.ViewsMatchLibvirt(vm, h.Connection, PowerStates.Running, DomainState.Running);
        var disks = vm.Spec.Domain!["devices"]!["disk"]!.AsArray();
        Assert.Contains(disks, d => d!["source"]?["_file"]?.GetValue<string>() == lab.Disk);
        Assert.DoesNotContain(disks, d => d!["_device"]?.GetValue<string>() == "cdrom");

        vm = await h.RunAsync(name, "stopVMForce");
        VmAssert.Succeeded(vm, "stopVMForce");
        await h.ApplyDeleteAsync(name, new System.Text.Json.Nodes.JsonObject { ["remove_all_storage"] = true });
        await h.WaitGoneAsync(name);
        Assert.Null(h.Connection.TryLookupDomainByName(name));
        Assert.False(File.Exists(lab.Disk), "deleteVM with remove_all_storage=true deletes the VM's disk files");
    }
}
