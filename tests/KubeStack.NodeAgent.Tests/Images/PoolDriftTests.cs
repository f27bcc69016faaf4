using System.Text.Json.Nodes;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

namespace KubeStack.NodeAgent.Tests.Images;

/// <summary>Which files of a pool no object accounts for, and what counts as drift between two pool views.</summary>
public sealed class PoolDriftTests
{
    private static KubeStackResource Obj(string kind, string name, Action<KubeStackSpec> spec)
    {
        var obj = new KubeStackResource
        {
            ApiVersion = KubeStackResource.GroupVersion,
            Kind = kind,
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
            Spec = new KubeStackSpec(),
        };
        spec(obj.Spec);
        return obj;
    }

    private static StorageInventory Inventory(params KubeStackResource[] objects) =>
        new(kind => objects.Where(o => o.Kind == kind).ToList());

    [Fact]
    public void Files_of_disks_disk_images_snapshots_vm_images_and_vm_disks_are_registered_the_rest_is_not()
    {
        var inventory = Inventory(
            Obj(Kinds.VirtualMachineDisk, "disk1", s => s.Volume = new JsonObject { ["pool"] = "pool1" }),
            Obj(Kinds.VirtualMachineDisk, "disk-elsewhere", s => s.Volume = new JsonObject { ["pool"] = "pool2" }),
            Obj(Kinds.VirtualMachineDiskImage, "base1", s => s.Lifecycle = new JsonObject { ["createDiskImage"] = new JsonObject { ["targetPool"] = "pool1" } }),
            Obj(Kinds.VirtualMachineDiskSnapshot, "snap1", s => s.Volume = new JsonObject { ["pool"] = "pool1", ["vol"] = "disk1" }),
            Obj(Kinds.VirtualMachineImage, "web", _ => { }),
            Obj(Kinds.VirtualMachine, "vm1", s => s.Domain = new JsonObject
            {
                ["devices"] = new JsonObject { ["disk"] = new JsonArray(new JsonObject { ["source"] = new JsonObject { ["_file"] = "/mnt/localfs/pool1/vm1-vda" } }) },
            }));
        string[] volumes = ["disk1", "disk-elsewhere", "base1", "disk1.snap1", "web.xml", "web.vda", "web.notes", "vm1-vda", ".copy.part", "kubestack-backups", "stray"];

        var unregistered = PoolDrift.Unregistered("pool1", "/mnt/localfs/pool1", volumes, inventory);

        Assert.Equal(["disk-elsewhere", "stray", "web.notes"], unregistered);
    }

    [Fact]
    public void WithRegistration_adds_the_bounded_list_and_the_count()
    {
        var names = Enumerable.Range(0, PoolDrift.MaxListed + 5).Select(i => $"v{i:D3}").ToList();

        var view = PoolDrift.WithRegistration(new JsonObject(), names);

        Assert.Equal((PoolDrift.MaxListed + 5).ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)view["unregisteredcount"]);
        Assert.Equal(PoolDrift.MaxListed, view["unregistered"]!.AsArray().Count);
    }

    [Fact]
    public void Describe_names_volumes_that_appeared_or_disappeared_and_a_state_change_but_ignores_copies_in_progress()
    {
        var before = new JsonObject { ["state"] = "running", ["volumes"] = new JsonArray("a", "b", ".c.part") };
        var now = new JsonObject { ["state"] = "inactive", ["volumes"] = new JsonArray("b", "d") };

        Assert.Equal("volume(s) appeared: d; volume(s) disappeared: a; its state changed from running to inactive", PoolDrift.Describe(before, now));
    }

    [Fact]
    public void Describe_is_null_when_only_the_registration_changed()
    {
        var before = new JsonObject { ["state"] = "running", ["volumes"] = new JsonArray("a"), ["unregistered"] = new JsonArray("a") };
        var now = new JsonObject { ["state"] = "running", ["volumes"] = new JsonArray("a"), ["unregistered"] = new JsonArray() };

        Assert.Null(PoolDrift.Describe(before, now));
    }
}
