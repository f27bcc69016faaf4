using KubeStack.ApiEmulator;
using KubeStack.Contracts.Resources;

namespace KubeStack.Operator.Tests;

/// <summary>kubectl against the emulator with the operator's webhook registered through a ValidatingWebhookConfiguration.</summary>
public sealed class KubectlWebhookTests
{
    private const string GoodDisk = """
        apiVersion: doslab.io/v1
        kind: VirtualMachineDisk
        metadata: {name: disk-good}
        spec:
          lifecycle:
            createDisk: {type: localfs, pool: pool-e2e, capacity: "10737418240", format: qcow2}
        """;

    private const string BadDisk = """
        apiVersion: doslab.io/v1
        kind: VirtualMachineDisk
        metadata: {name: disk-bad}
        spec:
          lifecycle:
            createDisk: {type: localfs, pool: pool-missing, capacity: "10737418240", format: qcow2}
        """;

    [SkippableFact]
    public async Task Kubectl_apply_of_a_bad_createDisk_is_refused_with_the_message_and_a_good_one_passes()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await using var cluster = await Cluster.StartAsync();
        await using var webhook = await WebhookHost.StartAsync(cluster);
        await cluster.CreateExistingAsync(Kinds.VirtualMachinePool, "pool-e2e", "node1");
        await cluster.RegisterWebhookAsync(webhook.Url, webhook.CaPem);
        using var kubectl = new Kubectl(cluster.Api);

        var bad = await kubectl.RunAsync(["apply", "-f", "-"], BadDisk);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("admission webhook \"requests.doslab.io\" denied the request: VirtualMachineDisk 'disk-bad': parameter 'pool' of operation 'createDisk' names VirtualMachinePool 'pool-missing', which does not exist in namespace default (rule references); create it first or fix the name.", bad.Stderr, StringComparison.Ordinal);
        Assert.Null(await cluster.GetAsync(Kinds.VirtualMachineDisk, "disk-bad"));

        var good = await kubectl.RunAsync(["apply", "-f", "-"], GoodDisk);
        Assert.True(good.ExitCode == 0, good.ToString());
        Assert.NotNull(await cluster.GetAsync(Kinds.VirtualMachineDisk, "disk-good"));
    }
}
