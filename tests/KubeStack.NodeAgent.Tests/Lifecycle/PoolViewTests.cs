using System.Text.Json.Nodes;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;

namespace KubeStack.NodeAgent.Tests.Lifecycle;

public sealed class PoolViewTests
{
    private static PoolSnapshot Snapshot(string type = "dir", StoragePoolState state = StoragePoolState.Running, IReadOnlyList<string>? volumes = null,
        string? format = null) => new()
        {
            Name = "pool1",
            Uuid = Guid.Parse("6f1c2a44-0d7a-4f0e-9a57-2a1de3b4b001"),
            LibvirtType = type,
            TargetPath = "/mnt/localfs/pool1",
            SourceHost = type == "netfs" ? "10.0.0.2" : null,
            SourceDir = type == "netfs" ? "/exports/a" : null,
            SourceFormat = format,
            State = state,
            Persistent = true,
            Autostart = false,
            Capacity = 100,
            Allocation = 40,
            Available = 60,
            Volumes = volumes ?? ["a", "b"],
        };

    [Fact]
    public void The_view_has_the_seeds_flat_string_fields_from_libvirt_and_the_request()
    {
        var view = PoolView.Build(Snapshot(), new PoolLabels("dir", "vmdi", "cstor1", "/mnt/localfs/pool1"));

        Assert.Equal(
            ["_type", "pooltype", "content", "name", "pool", "poolname", "uuid", "state", "persistent", "autostart", "capacity", "allocation", "free",
                "path", "url", "volumecount", "volumes"],
            view.Select(p => p.Key));
        Assert.Equal(("dir", "dir", "vmdi", "cstor1", "running", "yes", "no"),
            ((string?)view["_type"], (string?)view["pooltype"], (string?)view["content"], (string?)view["poolname"], (string?)view["state"],
                (string?)view["persistent"], (string?)view["autostart"]));
        Assert.Equal(("100", "40", "60", "2"), ((string?)view["capacity"], (string?)view["allocation"], (string?)view["free"], (string?)view["volumecount"]));
        Assert.Equal("6f1c2a44-0d7a-4f0e-9a57-2a1de3b4b001", (string?)view["uuid"]);
    }

    [Fact]
    public void A_pool_nobody_described_gets_its_type_derived_from_libvirt_and_its_own_name_as_poolname()
    {
        var view = PoolView.Build(Snapshot("netfs", StoragePoolState.Inactive, [], "glusterfs"), new PoolLabels(null, null, null, null));
        Assert.Equal(("glusterfs", "vmd", "pool1", "inactive", "10.0.0.2:/exports/a"),
            ((string?)view["pooltype"], (string?)view["content"], (string?)view["poolname"], (string?)view["state"], (string?)view["url"]));
        Assert.Equal("localfs", PoolView.DerivedType(Snapshot()));
        Assert.Equal("nfs", PoolView.DerivedType(Snapshot("netfs", format: "nfs")));
    }

    [Fact]
    public void The_volume_list_is_bounded_but_the_count_is_exact()
    {
        var many = Enumerable.Range(0, 1000).Select(i => $"v{i:0000}").ToList();
        var view = PoolView.Build(Snapshot(volumes: many), new PoolLabels(null, null, null, null));
        Assert.Equal(PoolView.MaxListedVolumes, view["volumes"]!.AsArray().Count);
        Assert.Equal("1000", (string?)view["volumecount"]);
    }

    [Fact]
    public void Labels_come_from_the_create_request_first_then_from_the_view_written_before()
    {
        var obj = new KubeStackResource
        {
            Kind = Kinds.VirtualMachinePool,
            Metadata = new V1ObjectMeta { Name = "pool1" },
            Spec = new KubeStackSpec
            {
                Lifecycle = new JsonObject { ["createPool"] = new JsonObject { ["type"] = "localfs", ["content"] = "iso", ["url"] = "/mnt/localfs/p" } },
                Pool = new JsonObject { ["pooltype"] = "dir", ["content"] = "vmd", ["poolname"] = "cstor9" },
            },
        };

        Assert.Equal(new PoolLabels("localfs", "iso", "cstor9", "/mnt/localfs/p"), PoolLabels.Of(obj));
        obj.Spec.Lifecycle = null;
        Assert.Equal(new PoolLabels("dir", "vmd", "cstor9", null), PoolLabels.Of(obj));
    }
}
