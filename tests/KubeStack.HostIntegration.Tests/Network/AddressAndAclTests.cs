using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using static KubeStack.HostIntegration.Tests.Network.NetworkLab;
using static KubeStack.HostIntegration.Tests.Network.NetworkTestKit;

namespace KubeStack.HostIntegration.Tests.Network;

/// <summary>
/// Address sets (createAddress/modifyAddress/deleteAddress) and ACLs (addACL/modifyACL/deprecatedACL/batchDeprecatedACL)
/// against the lab's OVN: the northbound rows, and the logical flows ovn-northd makes of them.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class AddressAndAclTests
{
    private const string MacA = "52:54:00:a1:00:01";
    private const string MacB = "52:54:00:a1:00:02";

    [OvnFact]
    public async Task Address_set_is_created_modified_used_from_an_acl_rule_and_deleted_only_when_unused()
    {
        await using var kit = new NetworkTestKit();
        var name = Short("as");
        var set = AddressOperations.SetName(name);
        kit.AddressSet(set);
        var ok = AssertOk(await RunAsync(new CreateAddressHandler(kit.Host), name, P(("address", "192.168.1.1，192.168.1.2,10.0.0.0/8"))));
        Assert.Equal(["10.0.0.0/8", "192.168.1.1", "192.168.1.2"], (await NbGet("Address_Set", set, "addresses")).Trim('[', ']').Split(", ").Select(a => a.Trim('"')).Order());
        Assert.Equal("10.0.0.0/8,192.168.1.1,192.168.1.2", ok.View!["addressInfo"]!["addresses"]!.GetValue<string>());
        Assert.Equal("address", ok.ExtraSpec!["type"]!.GetValue<string>());

        // an ACL rule uses it as $name: northd turns it into a southbound address set and a flow naming it
        var sw = Short("sw");
        await kit.SwitchAsync(sw, ("subnet", "10.110.0.1/24"), ("gateway", "10.110.0.1"));
        var vm = Short("vm");
        await kit.VmPortAsync(vm, sw, MacA, "10.110.0.5");
        AssertOk(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "to", $"ip4.src == ${set} && tcp.dst == 22", "allow", "5")));
        Assert.Contains($"ip4.src == ${set} && tcp.dst == 22", await LogicalFlows(sw), StringComparison.Ordinal);
        Assert.Contains("192.168.1.2", await SbAddresses(set), StringComparison.Ordinal);

        // modify: the southbound set (what the flow matches) follows
        AssertOk(await RunAsync(new ModifyAddressHandler(kit.Host), name, P(("address", "172.16.0.9"))));
        Assert.Equal("172.16.0.9", (await NbGet("Address_Set", set, "addresses")).Trim('[', ']', '"'));
        await Sh("ovn-nbctl", "--timeout=20", "--wait=sb", "sync");
        Assert.Equal("172.16.0.9", await SbAddresses(set));

        // in use: refused, nothing deleted
        AssertFailed(await RunAsync(new DeleteAddressHandler(kit.Host), name, P()), ErrorClasses.VirtctlError, "used by 1 ACL rule(s)");
        Assert.Single(await NbFind("Address_Set", "name", $"name={set}"));

        AssertOk(await RunAsync(new BatchDeprecatedACLHandler(kit.Host), vm, P()));
        AssertOk(await RunAsync(new DeleteAddressHandler(kit.Host), name, P()));
        Assert.Empty(await NbFind("Address_Set", "name", $"name={set}"));
        AssertFailed(await RunAsync(new DeleteAddressHandler(kit.Host), name, P()), ErrorClasses.VirtctlError, "does not exist");
        AssertOk(await RunAsync(new DeleteAddressHandler(kit.Host), name, P(), attempt: 2));
    }

    [OvnFact]
    public async Task Address_operations_refuse_bad_addresses_duplicates_and_missing_sets_and_change_nothing()
    {
        await using var kit = new NetworkTestKit();
        var name = Short("as");
        var set = AddressOperations.SetName(name);
        kit.AddressSet(set);
        AssertFailed(await RunAsync(new CreateAddressHandler(kit.Host), name, P(("address", "192.168.1.1,192.168.1.300"))), ErrorClasses.VirtctlError, "'192.168.1.300'");
        Assert.Empty(await NbFind("Address_Set", "name", $"name={set}"));
        AssertFailed(await RunAsync(new ModifyAddressHandler(kit.Host), name, P(("address", "192.168.1.1"))), ErrorClasses.VirtctlError, "does not exist");

        AssertOk(await RunAsync(new CreateAddressHandler(kit.Host), name, P(("address", "192.168.1.1"))));
        AssertFailed(await RunAsync(new CreateAddressHandler(kit.Host), name, P(("address", "192.168.9.9"))), ErrorClasses.VirtctlError, "already exists");
        AssertFailed(await RunAsync(new ModifyAddressHandler(kit.Host), name, P(("address", "not-an-ip"))), ErrorClasses.VirtctlError, "'not-an-ip'");
        AssertFailed(await RunAsync(new ModifyAddressHandler(kit.Host), name, P(("address", " ， "))), ErrorClasses.VirtctlError, "is empty");
        Assert.Equal("192.168.1.1", (await NbGet("Address_Set", set, "addresses")).Trim('[', ']', '"'));
        AssertOk(await RunAsync(new CreateAddressHandler(kit.Host), name, P(("address", "192.168.1.1")), attempt: 2));
    }

    [OvnFact]
    public async Task AddACL_puts_the_rule_on_the_vm_port_in_both_directions_and_northd_makes_the_flows()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        await kit.SwitchAsync(sw, ("subnet", "10.111.0.1/24"), ("gateway", "10.111.0.1"));
        var vm = Short("vm");
        var port = await kit.VmPortAsync(vm, sw, MacA, "10.111.0.5");

        var ok = AssertOk(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "tcp.dst == 22", "drop", "100")));
        Assert.Contains("from-lport priority 100", ok.Message, StringComparison.Ordinal);
        AssertOk(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "to", "ip4.src == 10.0.0.0/8", "allow", null)));

        var from = Assert.Single(await NbFind("ACL", "_uuid", "direction=from-lport", $"external_ids:kubestack-port={port}"));
        Assert.Equal($"inport == \\\"{port}\\\" && (tcp.dst == 22)", await NbGet("ACL", from, "match"));
        Assert.Equal("drop", await NbGet("ACL", from, "action"));
        Assert.Equal("100", await NbGet("ACL", from, "priority"));
        var to = Assert.Single(await NbFind("ACL", "_uuid", "direction=to-lport", $"external_ids:kubestack-port={port}"));
        Assert.Equal("allow-related", await NbGet("ACL", to, "action"));
        Assert.Equal("1", await NbGet("ACL", to, "priority"));
        Assert.Equal(vm, await NbGet("ACL", to, "external_ids:kubestack-vm"));
        Assert.Contains(from, await NbGet("Logical_Switch", sw, "acls"), StringComparison.Ordinal);

        var flows = await LogicalFlows(sw);
        Assert.Contains($"inport == \"{port}\" && (tcp.dst == 22)", flows, StringComparison.Ordinal);
        Assert.Contains($"outport == \"{port}\" && (ip4.src == 10.0.0.0/8)", flows, StringComparison.Ordinal);
    }

    [OvnFact]
    public async Task AddACL_refuses_a_bad_rule_a_duplicate_a_missing_switch_and_an_unknown_mac_and_adds_nothing()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        await kit.SwitchAsync(sw, ("subnet", "10.112.0.1/24"), ("gateway", "10.112.0.1"));
        var vm = Short("vm");
        await kit.VmPortAsync(vm, sw, MacA, "10.112.0.5");
        var other = Short("vm");
        await kit.VmPortAsync(other, sw, MacB, "10.112.0.6");

        // the rule is checked before it reaches OVN (OVN itself would accept the row and only northd would log the error)
        AssertFailed(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "tcp.dst==22", "allow", null)), ErrorClasses.VirtctlError, "rule 'tcp.dst==22'");
        AssertFailed(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "tcp.dst == 70000", "allow", null)), ErrorClasses.VirtctlError, "70000");
        AssertFailed(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "ip4.src == $", "allow", null)), ErrorClasses.VirtctlError, "rule");
        AssertFailed(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "sideways", "tcp", "allow", null)), ErrorClasses.VirtctlError, "type must be one of from, to");
        AssertFailed(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "tcp", "reject", null)), ErrorClasses.VirtctlError, "operator must be one of allow, drop");
        AssertFailed(await RunAsync(new AddACLHandler(kit.Host), vm, Acl("kst-nosuch-sw", MacA, "from", "tcp", "allow", null)), ErrorClasses.VirtctlError, "does not exist");
        AssertFailed(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, "52:54:00:a1:00:99", "from", "tcp", "allow", null)), ErrorClasses.VirtctlError, "no port with MAC");
        // the MAC of another VM's port is not this VM's port
        AssertFailed(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacB, "from", "tcp", "allow", null)), ErrorClasses.VirtctlError, "no port with MAC");
        Assert.Equal("[]", await NbGet("Logical_Switch", sw, "acls"));

        AssertOk(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "udp.dst == 53", "allow", "3")));
        AssertFailed(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "udp.dst == 53", "drop", "3")), ErrorClasses.VirtctlError, "already has the ACL");
        AssertOk(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "udp.dst == 53", "allow", "3"), attempt: 2));
        Assert.Single(await NbFind("ACL", "_uuid", $"external_ids:kubestack-vm={vm}"));
    }

    [OvnFact]
    public async Task ModifyACL_changes_action_and_priority_and_deprecatedACL_removes_only_the_matching_acls()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        await kit.SwitchAsync(sw, ("subnet", "10.113.0.1/24"), ("gateway", "10.113.0.1"));
        var vm = Short("vm");
        var port = await kit.VmPortAsync(vm, sw, MacA, "10.113.0.5");
        AssertOk(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "tcp.dst == 80", "allow", "10")));
        AssertOk(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "tcp.dst == 443", "allow", "10")));
        AssertOk(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw, MacA, "to", "icmp4", "drop", "20")));

        AssertOk(await RunAsync(new ModifyACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "tcp.dst == 80", "drop", "30")));
        var http = Assert.Single(await NbFind("ACL", "_uuid", "external_ids:kubestack-rule=\"tcp.dst == 80\""));
        Assert.Equal("drop", await NbGet("ACL", http, "action"));
        Assert.Equal("30", await NbGet("ACL", http, "priority"));
        var https = Assert.Single(await NbFind("ACL", "_uuid", "external_ids:kubestack-rule=\"tcp.dst == 443\""));
        Assert.Equal("allow-related", await NbGet("ACL", https, "action"));
        Assert.Equal("10", await NbGet("ACL", https, "priority"));
        // northd puts ACL priority P at flow priority 1000 + P
        Assert.Contains((await LogicalFlows(sw)).Split('\n'), l => l.Contains("priority=1030", StringComparison.Ordinal)
            && l.Contains($"(inport == \"{port}\" && (tcp.dst == 80))", StringComparison.Ordinal));

        AssertFailed(await RunAsync(new ModifyACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "tcp.dst == 8080", "drop", null)), ErrorClasses.VirtctlError, "add it with addACL first");
        AssertFailed(await RunAsync(new ModifyACLHandler(kit.Host), vm, Acl(sw, MacA, "from", "tcp.dst = 80", "drop", null)), ErrorClasses.VirtctlError, "rule");

        // deprecatedACL by type: the two from-ACLs go, the to-ACL stays
        AssertOk(await RunAsync(new DeprecatedACLHandler(kit.Host), vm, P(("swName", sw), ("vmmac", MacA), ("type", "from"))));
        Assert.Empty(await NbFind("ACL", "_uuid", "direction=from-lport", $"external_ids:kubestack-port={port}"));
        Assert.Single(await NbFind("ACL", "_uuid", "direction=to-lport", $"external_ids:kubestack-port={port}"));
        AssertFailed(await RunAsync(new DeprecatedACLHandler(kit.Host), vm, P(("swName", sw), ("vmmac", MacA), ("type", "from"))), ErrorClasses.VirtctlError, "has no ACL matching type from");
        AssertFailed(await RunAsync(new DeprecatedACLHandler(kit.Host), vm, P(("swName", sw), ("vmmac", MacA), ("rule", "icmp4"), ("priority", "21"))), ErrorClasses.VirtctlError, "rule 'icmp4', priority 21");
        AssertFailed(await RunAsync(new DeprecatedACLHandler(kit.Host), vm, P(("swName", "kst-nosuch-sw"), ("vmmac", MacA))), ErrorClasses.VirtctlError, "does not exist");
        AssertOk(await RunAsync(new DeprecatedACLHandler(kit.Host), vm, P(("swName", sw), ("vmmac", MacA), ("rule", "icmp4"), ("priority", "20"))));
        Assert.Equal("[]", await NbGet("Logical_Switch", sw, "acls"));
    }

    [OvnFact]
    public async Task BatchDeprecatedACL_removes_every_acl_of_the_vm_on_every_switch_and_leaves_other_vms_alone()
    {
        await using var kit = new NetworkTestKit();
        var sw1 = Short("sw");
        var sw2 = Short("sw");
        await kit.SwitchAsync(sw1, ("subnet", "10.114.0.1/24"), ("gateway", "10.114.0.1"));
        await kit.SwitchAsync(sw2, ("subnet", "10.115.0.1/24"), ("gateway", "10.115.0.1"));
        var vm = Short("vm");
        var other = Short("vm");
        await kit.VmPortAsync(vm, sw1, MacA, "10.114.0.5");
        await kit.VmPortAsync(vm, sw2, "52:54:00:a1:00:03", "10.115.0.5");
        await kit.VmPortAsync(other, sw1, MacB, "10.114.0.6");
        AssertOk(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw1, MacA, "from", "tcp", "allow", null)));
        AssertOk(await RunAsync(new AddACLHandler(kit.Host), vm, Acl(sw2, "52:54:00:a1:00:03", "to", "udp", "drop", null)));
        AssertOk(await RunAsync(new AddACLHandler(kit.Host), other, Acl(sw1, MacB, "from", "tcp", "allow", null)));

        var ok = AssertOk(await RunAsync(new BatchDeprecatedACLHandler(kit.Host), vm, P()));
        Assert.Contains("Deleted 2 ACL(s)", ok.Message, StringComparison.Ordinal);
        Assert.Empty(await NbFind("ACL", "_uuid", $"external_ids:kubestack-vm={vm}"));
        Assert.Equal("[]", await NbGet("Logical_Switch", sw2, "acls"));
        var kept = Assert.Single(await NbFind("ACL", "_uuid", $"external_ids:kubestack-vm={other}"));
        Assert.Equal($"[{kept}]", await NbGet("Logical_Switch", sw1, "acls"));
        // nothing left is success (the operation converges)
        Assert.Contains("has no ACLs", AssertOk(await RunAsync(new BatchDeprecatedACLHandler(kit.Host), vm, P())).Message, StringComparison.Ordinal);
    }

    private static Task<string> SbAddresses(string set) =>
        Sh("ovn-sbctl", "--timeout=10", "--bare", "--columns=addresses", "find", "Address_Set", $"name={set}");

    private static System.Text.Json.Nodes.JsonObject Acl(string sw, string mac, string type, string rule, string op, string? priority)
    {
        var p = P(("swName", sw), ("vmmac", mac), ("type", type), ("rule", rule), ("operator", op));
        if (priority is not null) p["priority"] = priority;
        return p;
    }
}
