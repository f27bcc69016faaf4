using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;

namespace KubeStack.NodeAgent.Tests.Network;

/// <summary>
/// Which Open vSwitch QoS/Queue rows unplugNIC, deleteVM and the VM finalizer delete: the rows libvirt made for the VM
/// (external_ids:vm-id) that no port uses any more, with their queues, in one transaction; a live NIC's rows and other
/// VMs' rows stay. The listings are in the shape ovs-vsctl --format=json prints.
/// </summary>
public sealed class OvsNicQosPlanTests
{
    private static readonly Guid Vm = Guid.Parse("9bf596c6-2f54-4a3a-b25a-00904e25fce0");
    private const string Other = "11111111-2222-3333-4444-555555555555";
    private const string QosGone = "09b23290-a132-4275-b1e9-3fbecdb61ac4";     // vnet0: its port was removed
    private const string QosLive = "728ae697-7f79-41b6-92f4-f988f480af97";     // vnet1: its port still uses it
    private const string QosOther = "4430939e-8e2e-4bb6-a032-cb5e692f15d3";    // another VM's leftover
    private const string QueueGone = "b64c6870-16ca-4f3f-8d9c-730383eef05f";
    private const string QueueLive = "70b1415a-3581-4e8c-b5fc-ae31465fc620";
    private const string QueueOrphan = "d35c2285-91ba-4a44-a61b-4dc1351e75f2";  // the VM's queue whose QoS is already gone
    private const string QueueOther = "e420a576-b305-43f0-9397-58fbfeebf917";

    private static IReadOnlyList<OvsdbRow> QosRows() => OvsdbJson.ParseTable($$"""
        {"data":[
          [["uuid","{{QosGone}}"],["map",[["ifname","vnet0"],["vm-id","{{Vm}}"]]],["map",[[0,["uuid","{{QueueGone}}"]]]]],
          [["uuid","{{QosLive}}"],["map",[["ifname","vnet1"],["vm-id","{{Vm}}"]]],["map",[[0,["uuid","{{QueueLive}}"]]]]],
          [["uuid","{{QosOther}}"],["map",[["ifname","vnet0"],["vm-id","{{Other}}"]]],["map",[[0,["uuid","{{QueueOther}}"]]]]]
        ],"headings":["_uuid","external_ids","queues"]}
        """);

    private static IReadOnlyList<OvsdbRow> QueueRows() => OvsdbJson.ParseTable($$"""
        {"data":[
          [["uuid","{{QueueGone}}"],["map",[["ifname","vnet0"],["vm-id","{{Vm}}"]]]],
          [["uuid","{{QueueLive}}"],["map",[["ifname","vnet1"],["vm-id","{{Vm}}"]]]],
          [["uuid","{{QueueOrphan}}"],["map",[["ifname","vnet2"],["vm-id","{{Vm}}"]]]],
          [["uuid","{{QueueOther}}"],["map",[["ifname","vnet0"],["vm-id","{{Other}}"]]]]
        ],"headings":["_uuid","external_ids"]}
        """);

    /// <summary>One port per QoS row given (its qos column) and one port without QoS.</summary>
    private static IReadOnlyList<OvsdbRow> PortRows(params string[] qos) => OvsdbJson.ParseTable(
        """{"data":[""" + string.Join(',', qos.Select((q, i) => $$"""[["uuid","00000000-0000-0000-0000-00000000000{{i}}"],["uuid","{{q}}"]]""")
            .Append("""[["uuid","00000000-0000-0000-0000-0000000000ff"],["set",[]]]""")) + """],"headings":["_uuid","qos"]}""");

    [Fact]
    public void Removes_the_vms_unused_qos_rows_and_their_queues_in_one_transaction_and_keeps_a_live_nics_rows()
    {
        var (commands, removed) = OvsNicQos.Plan(Vm, QosRows(), QueueRows(), PortRows(QosLive));

        Assert.Equal([QosGone], removed.Qos);
        Assert.Equal([QueueGone, QueueOrphan], removed.Queues);
        Assert.Equal(3, removed.Count);
        Assert.Equal(["--if-exists destroy QoS " + QosGone, $"--if-exists destroy Queue {QueueGone} {QueueOrphan}"], commands.Select(c => c.ToString()));
        var args = OvsVsctl.Default.TransactionArguments(commands);
        Assert.Equal(2, args.Count(a => a == "--"));   // both destroys in one ovs-vsctl run
    }

    [Fact]
    public void Never_touches_another_vms_rows_even_when_they_are_unused()
    {
        var (commands, removed) = OvsNicQos.Plan(Vm, QosRows(), QueueRows(), PortRows());

        Assert.Equal([QosGone, QosLive], removed.Qos);
        Assert.DoesNotContain(QosOther, removed.Qos);
        Assert.DoesNotContain(QueueOther, removed.Queues);
        Assert.DoesNotContain(commands, c => c.Words.Contains(QosOther) || c.Words.Contains(QueueOther));
    }

    [Fact]
    public void A_queue_a_surviving_qos_row_references_is_kept_even_with_the_vms_id()
    {
        var (_, removed) = OvsNicQos.Plan(Vm, QosRows(), QueueRows(), PortRows(QosLive, QosOther));

        Assert.DoesNotContain(QueueLive, removed.Queues);
        Assert.Contains(QueueOrphan, removed.Queues);
    }

    [Fact]
    public void Nothing_left_plans_no_command_so_a_resumed_attempt_succeeds_without_a_transaction()
    {
        var (commands, removed) = OvsNicQos.Plan(Vm, [], [], PortRows(QosLive));

        Assert.Empty(commands);
        Assert.Equal(0, removed.Count);
        Assert.Equal(string.Empty, removed.Describe());
    }

    [Theory]
    [InlineData("<domain><devices><interface type='bridge'><source bridge='br0'/><virtualport type='openvswitch'/></interface></devices></domain>", true)]
    [InlineData("<domain><devices><interface type='bridge'><source bridge='br0'/></interface></devices></domain>", false)]
    [InlineData("<domain><devices/></domain>", false)]
    public void HasOvsNic_tells_domains_whose_qos_rows_must_be_removed(string xml, bool expected) =>
        Assert.Equal(expected, OvsNicQos.HasOvsNic(xml));
}
