using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.HostIntegration.Tests.Lifecycle;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineDisk;
using KubeStack.NodeAgent.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.HostIntegration.Tests.Storage;

/// <summary>
/// cloneDisk end to end (API emulator + the agent's real runtime + libvirtd): the clone gets a VirtualMachineDisk object
/// of its own (docs/decisions.md result-objects) — created once, with the node label, the clone's view, no request and
/// the host-cleanup finalizer, so kubectl delete removes the copied volume; a failed clone and a name another object
/// holds leave no object and no file.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class CloneDiskObjectTests
{
    private static JsonObject Clone(string pool, string newName) => new() { ["type"] = "localfs", ["pool"] = pool, ["newname"] = newName, ["format"] = "qcow2" };

    [LabFact]
    public async Task CloneDisk_creates_the_clones_disk_object_once_and_deleting_it_deletes_the_copy()
    {
        await using var cluster = await StorageAgentHarness.StartAsync();
        using var cleanup = new LibvirtCleanup(cluster.Connection);
        var (pool, dir) = cluster.NewDirPool(cleanup);

        var source = LabEnvironment.UniqueName("src");
        await cluster.ApplyAsync(Kinds.VirtualMachineDisk, source, "createDisk", StorageRequests.CreateDisk(pool));
        Assert.Equal(RequestPhase.Succeeded, (await cluster.FinishedAsync(Kinds.VirtualMachineDisk, source, "createDisk")).Status!.Lifecycle!.Phase);
        await StorageTestKit.WriteAsync(Path.Combine(dir, source), 0x5c, 0, 65536);

        // cloneDisk: the clone's object exists, with the node label, the clone's view and no request
        var clone = LabEnvironment.UniqueName("clone");
        await cluster.SubmitAsync(Kinds.VirtualMachineDisk, source, "cloneDisk", Clone(pool, clone));
        var done = await cluster.FinishedAsync(Kinds.VirtualMachineDisk, source, "cloneDisk");
        Assert.True(done.Status!.Lifecycle!.Phase == RequestPhase.Succeeded, done.Status.Lifecycle.Message);
        Assert.Contains($"The VirtualMachineDisk object default/{clone} was created", done.Status.Lifecycle.Message, StringComparison.Ordinal);
        var clonePath = Path.Combine(dir, clone);
        Assert.True(await StorageTestKit.ReadsAsync(clonePath, 0x5c, 0, 65536));
        var obj = await cluster.GetAsync(Kinds.VirtualMachineDisk, clone);
        Assert.NotNull(obj);
        Assert.Equal(StorageAgentHarness.Node, obj.Metadata.Labels[Labels.Host]);
        Assert.Null(obj.Spec.Lifecycle);
        Assert.Equal(StorageAgentHarness.Node, obj.Spec.NodeName);
        Assert.Equal(pool, (string?)obj.Spec.Volume!["pool"]);
        Assert.Equal(clonePath, (string?)obj.Spec.Volume["filename"]);
        Assert.Equal(clone, (string?)obj.Spec.Volume["disk"]);
        Assert.Contains(Finalizers.HostCleanup, obj.Metadata.Finalizers);
        Assert.Equal($"{Kinds.VirtualMachineDisk}/{source} cloneDisk", obj.Metadata.Annotations[ResultObjects.ResultOfAnnotation]);
        var ready = Assert.Single(obj.Status!.Conditions!, c => c.Type == ConditionTypes.Ready);
        Assert.Equal(("True", ResultObjects.CreatedReason), (ready.Status, ready.Reason));
        Assert.Equal(source, (string?)done.Spec.Volume!["disk"]);   // the source's own view stays the source's

        // a resumed attempt (after a crash) finds the clone and its object: success, still one object
        var objects = new ResultObjects(new KubeObjectApi(cluster.Client, CatalogLoader.Default), new KubeObjectCreator(cluster.Client));
        var handler = new CloneDiskHandler(cluster.Libvirt, StorageTestKit.QemuImg, objects);
        var resumed = (await handler.HandleAsync(Context(done, Clone(pool, clone), attempt: 2), CancellationToken.None)).Ok();
        Assert.Contains("exists (created by an earlier attempt)", resumed.Message, StringComparison.Ordinal);
        Assert.Equal(obj.Metadata.Uid, (await cluster.GetAsync(Kinds.VirtualMachineDisk, clone))!.Metadata.Uid);

        // failures leave no object and no file: a missing target pool; a name another object holds
        var lost = LabEnvironment.UniqueName("lost");
        await cluster.SubmitAsync(Kinds.VirtualMachineDisk, source, "cloneDisk", Clone("kst-no-such-pool", lost));
        Assert.Equal(RequestPhase.Failed, (await cluster.FinishedAsync(Kinds.VirtualMachineDisk, source, "cloneDisk")).Status!.Lifecycle!.Phase);
        Assert.Null(await cluster.GetAsync(Kinds.VirtualMachineDisk, lost));
        var other = LabEnvironment.UniqueName("other");
        await cluster.ApplyAsync(Kinds.VirtualMachineDisk, other, "createDisk", StorageRequests.CreateDisk(pool));
        await cluster.FinishedAsync(Kinds.VirtualMachineDisk, other, "createDisk");
        File.Delete(Path.Combine(dir, other));   // the object holds the name, the file is not what refuses
        var refused = await handler.HandleAsync(Context(done, Clone(pool, other), attempt: 1), CancellationToken.None);
        Assert.Contains($"a VirtualMachineDisk object named {other} already exists in namespace default", refused.Fails(ErrorClasses.LibvirtError).Message, StringComparison.Ordinal);
        Assert.Equal(new[] { source, clone }.Order(StringComparer.Ordinal), Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray());
        Assert.False((await cluster.GetAsync(Kinds.VirtualMachineDisk, other))!.Metadata.Annotations?.ContainsKey(ResultObjects.ResultOfAnnotation) == true);

        // kubectl delete of the clone's object: the normal cleanup deletes the copied volume, the source stays
        await cluster.DeleteAsync(Kinds.VirtualMachineDisk, clone);
        await cluster.WaitGoneAsync(Kinds.VirtualMachineDisk, clone);
        Assert.False(File.Exists(clonePath));
        Assert.True(File.Exists(Path.Combine(dir, source)));
    }

    private static RequestContext Context(KubeStackResource source, JsonObject parameters, int attempt) => new()
    {
        Object = source,
        Operation = CatalogLoader.Default.Find(Kinds.VirtualMachineDisk, "cloneDisk")!,
        Parameters = parameters,
        NodeName = StorageAgentHarness.Node,
        Attempt = attempt,
        Logger = NullLogger.Instance,
    };
}
