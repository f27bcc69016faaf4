using System.Text.Json.Nodes;
using k8s.Models;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Status;

namespace KubeStack.HostIntegration.Tests.Migration;

/// <summary>
/// What the runtime writes when a handler reports <c>MovedToNode</c> (pure; no host): the object is handed to the
/// target node's agent (label host, spec.nodeName, status.nodeName), so the source agent forgets it.
/// </summary>
public sealed class HandOverTests
{
    private static KubeStackResource Vm() => new()
    {
        ApiVersion = KubeStackResource.GroupVersion,
        Kind = Kinds.VirtualMachine,
        Metadata = new V1ObjectMeta
        {
            Name = "vm1", NamespaceProperty = "default", ResourceVersion = "7", Generation = 3,
            Labels = new Dictionary<string, string> { [Labels.Host] = "node-a" },
        },
        Spec = new KubeStackSpec { NodeName = "node-a", Lifecycle = new JsonObject { ["migrateVM"] = new JsonObject { ["ip"] = "10.0.0.2" } } },
    };

    [Fact]
    public void AMigratedObjectsSpecPatch_MovesTheHostLabelAndSpecNodeNameToTheTarget()
    {
        var outcome = RequestOutcome.Success("moved", new JsonObject { ["name"] = new JsonObject { ["text"] = "vm1" } }, "Running")
            with { MovedToNode = "node-b" };

        var patch = SeedView.BuildSpecPatch(Vm(), outcome, "domain", removeLifecycle: true);

        Assert.Equal("node-b", patch["metadata"]?["labels"]?[Labels.Host]?.GetValue<string>());
        Assert.Equal("7", patch["metadata"]?["resourceVersion"]?.GetValue<string>());
        Assert.Equal("node-b", patch["spec"]?["nodeName"]?.GetValue<string>());
        Assert.True(patch["spec"]!.AsObject().ContainsKey("lifecycle"));
        Assert.Null(patch["spec"]!["lifecycle"]);
    }

    [Fact]
    public void AnObjectThatDidNotMove_KeepsItsLabelAndNodeName()
    {
        var patch = SeedView.BuildSpecPatch(Vm(), RequestOutcome.Success("ok"), "domain", removeLifecycle: true);

        Assert.Null(patch["metadata"]?["labels"]);
        Assert.False(patch["spec"]!.AsObject().ContainsKey("nodeName"));
    }

    [Fact]
    public void TheOutcomeRecord_NamesTheTargetAsTheOwningNode()
    {
        var vm = Vm();
        RequestRecords.ApplyOutcome(vm, new RequestIdentity("migrateVM", null, 3),
            RequestOutcome.Success("moved") with { MovedToNode = "node-b" }, "node-a", DateTimeOffset.UnixEpoch);

        Assert.Equal("node-b", vm.Status!.NodeName);
        Assert.Equal(RequestPhase.Succeeded, vm.Status.Lifecycle!.Phase);
    }

    [Fact]
    public void AgentLeases_MapAnIpOrANodeNameToTheTargetsLibvirtUri()
    {
        var lease = new V1Lease
        {
            Metadata = new V1ObjectMeta
            {
                Name = "kubestack-agent-node-b",
                Annotations = new Dictionary<string, string> { [MigrationTargets.AddressAnnotation] = "10.0.0.2" },
            },
        };
        var other = new V1Lease
        {
            Metadata = new V1ObjectMeta
            {
                Name = "kubestack-agent-node-c",
                Annotations = new Dictionary<string, string>
                {
                    [MigrationTargets.AddressAnnotation] = "10.0.0.3",
                    [MigrationTargets.MigrationUriAnnotation] = "qemu+tls://node-c.example/system",
                },
            },
        };
        var silent = new V1Lease { Metadata = new V1ObjectMeta { Name = "kubestack-agent-node-d" } };
        var targets = new[] { lease, other, silent }.Select(MigrationTargets.Parse).OfType<MigrationTarget>().ToList();

        Assert.Equal(2, targets.Count);
        Assert.Equal(new MigrationTarget("node-b", "10.0.0.2", "qemu+tcp://10.0.0.2/system"), MigrationTargets.Match(targets, "10.0.0.2"));
        Assert.Equal("qemu+tls://node-c.example/system", MigrationTargets.Match(targets, "node-c")!.LibvirtUri);
        Assert.Null(MigrationTargets.Match(targets, "10.0.0.4"));
        Assert.Equal("qemu+tcp://[fd00::5]/system", MigrationTargets.DefaultUri("fd00::5"));
    }
}
