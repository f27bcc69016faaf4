using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;
using static KubeStack.HostIntegration.Tests.Network.NetworkLab;
using static KubeStack.HostIntegration.Tests.Network.NetworkTestKit;

namespace KubeStack.HostIntegration.Tests.Network;

/// <summary>createSwitch / modifySwitch / deleteSwitch against the lab's OVN northbound database, asserted through ovn-nbctl reads.</summary>
[Collection(NetworkCollection.Name)]
public sealed class SwitchTests
{
    [OvnFact]
    public async Task CreateSwitch_makes_the_switch_with_subnet_excluded_ips_dhcp_options_and_localnet_port()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        var ok = await kit.SwitchAsync(sw, ("subnet", "10.91.0.1/24"), ("gateway", "10.91.0.1"), ("dhcp", "10.91.0.2"), ("mtu", "1400"),
            ("bridge", "br-ex"), ("vlanId", "42"), ("excludeIPs", "10.91.0.3 10.91.0.10..10.91.0.20"), ("dnsServer", "8.8.8.8,1.1.1.1"));

        Assert.Equal("10.91.0.0/24", await NbGet("Logical_Switch", sw, "other_config:subnet"));
        Assert.Equal("10.91.0.1 10.91.0.2 10.91.0.3 10.91.0.10..10.91.0.20", await NbGet("Logical_Switch", sw, "other_config:exclude_ips"));
        var dhcp = Assert.Single(await NbFind("DHCP_Options", "_uuid", $"external_ids:kubestack-switch={sw}"));
        Assert.Equal("10.91.0.0/24", await NbGet("DHCP_Options", dhcp, "cidr"));
        Assert.Equal("10.91.0.1", await NbGet("DHCP_Options", dhcp, "options:router"));
        Assert.Equal("10.91.0.2", await NbGet("DHCP_Options", dhcp, "options:server_id"));
        Assert.Equal("1400", await NbGet("DHCP_Options", dhcp, "options:mtu"));
        Assert.Equal("{8.8.8.8, 1.1.1.1}", await NbGet("DHCP_Options", dhcp, "options:dns_server"));
        Assert.Equal("3600", await NbGet("DHCP_Options", dhcp, "options:lease_time"));
        var ln = "ln-" + sw;
        Assert.Equal("localnet", await NbGet("Logical_Switch_Port", ln, "type"));
        Assert.Equal("br-ex", await NbGet("Logical_Switch_Port", ln, "options:network_name"));
        Assert.Equal("42", await NbGet("Logical_Switch_Port", ln, "tag"));
        Assert.Equal("[unknown]", await NbGet("Logical_Switch_Port", ln, "addresses"));

        // the view is read back from the rows
        Assert.Equal(NetworkViews.TypeSwitch, ok.ExtraSpec!["type"]!.GetValue<string>());
        Assert.Equal("10.91.0.0/24", ok.View!["switchInfo"]!["subnet"]!.GetValue<string>());
        Assert.Equal("1400", ok.View["gatewayInfo"]!["mtu"]!.GetValue<string>());
        Assert.Contains(ok.View["switchInfo"]!["ports"]!.AsArray(), p => p!["name"]!.GetValue<string>() == ln && p["tag"]!.GetValue<string>() == "42");

        // the excluded addresses are real: OVN gives a dynamic port the first address outside them (.1-.3 excluded)
        var port = await kit.VmPortAsync("kst-vm", sw, "52:54:00:91:00:01", null);
        await Sh("ovn-nbctl", "--timeout=20", "--wait=sb", "sync");
        Assert.Equal("52:54:00:91:00:01 10.91.0.4", await NbGet("Logical_Switch_Port", port, "dynamic_addresses"));
        Assert.Equal(dhcp, await NbGet("Logical_Switch_Port", port, "dhcpv4_options"));
        // northd made the datapath and answers DHCP for the port (put_dhcp_opts with the options)
        var flows = await LogicalFlows(sw);
        Assert.Contains("mtu = 1400", flows, StringComparison.Ordinal);
        Assert.Contains("router = 10.91.0.1", flows, StringComparison.Ordinal);
    }

    [OvnFact]
    public async Task CreateSwitch_without_optional_settings_has_no_localnet_port_and_the_gateway_as_dhcp_server()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        await kit.SwitchAsync(sw, ("subnet", "10.92.0.0/16"), ("gateway", "10.92.0.1"));
        Assert.Empty(await NbFind("Logical_Switch_Port", "name", $"name=ln-{sw}"));
        var dhcp = Assert.Single(await NbFind("DHCP_Options", "_uuid", $"external_ids:kubestack-switch={sw}"));
        Assert.Equal("10.92.0.1", await NbGet("DHCP_Options", dhcp, "options:server_id"));
        Assert.Equal("10.92.0.1", await NbGet("Logical_Switch", sw, "other_config:exclude_ips"));
        Assert.Equal("10.92.0.0/16", await NbGet("DHCP_Options", dhcp, "cidr"));
    }

    [OvnFact]
    public async Task CreateSwitch_refuses_bad_parameters_and_duplicates_and_leaves_nothing()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        kit.Switch(sw);
        kit.DhcpOf(sw);
        (string, string)[] good = [("subnet", "10.93.0.1/24"), ("gateway", "10.93.0.1")];
        async Task Refused(string fragment, params (string, string)[] p)
        {
            AssertFailed(await RunAsync(new CreateSwitchHandler(kit.Host), sw, P(p)), ErrorClasses.VirtctlError, fragment);
            Assert.Empty(await NbFind("Logical_Switch", "name", $"name={sw}"));
            Assert.Empty(await NbFind("DHCP_Options", "_uuid", $"external_ids:kubestack-switch={sw}"));
        }

        await Refused("y 8, 16 or 24", ("subnet", "10.93.0.1/20"), ("gateway", "10.93.0.1"));
        await Refused("gateway 10.94.0.1 is not inside the subnet 10.93.0.0/24", ("subnet", "10.93.0.1/24"), ("gateway", "10.94.0.1"));
        await Refused("dhcp 10.95.0.2 is not inside", [.. good, ("dhcp", "10.95.0.2")]);
        await Refused("excludeIPs 10.96.0.1..10.96.0.9 is not inside", [.. good, ("excludeIPs", "10.96.0.1..10.96.0.9")]);
        await Refused("excludeIPs", [.. good, ("excludeIPs", "10.93.0.9..10.93.0.2")]);
        await Refused("dnsServer has 'dns.example'", [.. good, ("dnsServer", "dns.example")]);
        await Refused("mtu must be from 68 to 9000", [.. good, ("mtu", "10000")]);
        await Refused("vlanId needs createSwitch.bridge", [.. good, ("vlanId", "5")]);
        await Refused("vlanId must be from 0 to 4094", [.. good, ("bridge", "br-ex"), ("vlanId", "4095")]);
        await Refused("IPv4 switches only", [.. good, ("ipv6", "true")]);
        await Refused("subnet is required", ("gateway", "10.93.0.1"));

        // a duplicate leaves the existing switch as it was
        AssertOk(await RunAsync(new CreateSwitchHandler(kit.Host), sw, P([.. good, ("mtu", "1500")])));
        AssertFailed(await RunAsync(new CreateSwitchHandler(kit.Host), sw, P(("subnet", "10.97.0.1/24"), ("gateway", "10.97.0.1"))),
            ErrorClasses.VirtctlError, "already exists");
        Assert.Equal("10.93.0.0/24", await NbGet("Logical_Switch", sw, "other_config:subnet"));
        Assert.Single(await NbFind("DHCP_Options", "_uuid", $"external_ids:kubestack-switch={sw}"));
        // a resumed attempt of the same request converges
        AssertOk(await RunAsync(new CreateSwitchHandler(kit.Host), sw, P(good), attempt: 2));
        Assert.Single(await NbFind("Logical_Switch", "name", $"name={sw}"));
    }

    [OvnFact]
    public async Task CreateSwitch_is_one_transaction_a_failing_command_leaves_no_switch_and_the_dhcp_rows_as_they_were()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        var other = Short("sw");
        await kit.SwitchAsync(other, ("subnet", "10.98.0.1/24"), ("gateway", "10.98.0.1"));
        kit.Switch(sw);
        kit.DhcpOf(sw);
        // the localnet port name ln-SW is taken on another switch: lsp-add fails in the middle of the transaction
        await Sh("ovn-nbctl", "lsp-add", other, "ln-" + sw);
        // a stale DHCP row under this switch name, which the same transaction replaces
        var stale = await Sh("ovn-nbctl", "create", "DHCP_Options", "cidr=\"10.99.0.0/24\"", $"external_ids:kubestack-switch=\"{sw}\"");
        (string, string)[] request = [("subnet", "10.99.0.1/24"), ("gateway", "10.99.0.1"), ("bridge", "br-ex")];

        AssertFailed(await RunAsync(new CreateSwitchHandler(kit.Host), sw, P(request)), ErrorClasses.Exception, "ln-" + sw);
        Assert.Empty(await NbFind("Logical_Switch", "name", $"name={sw}"));
        Assert.Equal([stale], await NbFind("DHCP_Options", "_uuid", $"external_ids:kubestack-switch={sw}"));

        await Sh("ovn-nbctl", "lsp-del", "ln-" + sw);
        AssertOk(await RunAsync(new CreateSwitchHandler(kit.Host), sw, P(request)));
        var dhcp = Assert.Single(await NbFind("DHCP_Options", "_uuid", $"external_ids:kubestack-switch={sw}"));
        Assert.NotEqual(stale, dhcp);
        Assert.Equal("10.99.0.1", await NbGet("DHCP_Options", dhcp, "options:router"));
    }

    [OvnFact]
    public async Task ModifySwitch_changes_exactly_what_it_is_given()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        await kit.SwitchAsync(sw, ("subnet", "10.101.0.1/24"), ("gateway", "10.101.0.1"), ("dhcp", "10.101.0.2"), ("mtu", "1500"),
            ("bridge", "br-ex"), ("vlanId", "7"), ("excludeIPs", "10.101.0.50"), ("dnsServer", "8.8.8.8"));
        var dhcp = Assert.Single(await NbFind("DHCP_Options", "_uuid", $"external_ids:kubestack-switch={sw}"));
        async Task<string> State() => string.Join("|",
            await NbGet("Logical_Switch", sw, "other_config"), await NbGet("DHCP_Options", dhcp, "options"),
            await NbGet("DHCP_Options", dhcp, "cidr"), await NbGet("Logical_Switch_Port", "ln-" + sw, "tag"),
            await NbGet("Logical_Switch_Port", "ln-" + sw, "options"));
        var before = await State();

        AssertOk(await RunAsync(new ModifySwitchHandler(kit.Host), sw, P(("mtu", "1450"))));
        Assert.Equal(before.Replace("mtu=\"1500\"", "mtu=\"1450\"", StringComparison.Ordinal), await State());

        AssertOk(await RunAsync(new ModifySwitchHandler(kit.Host), sw, P(("vlanId", "8"))));
        Assert.Equal("8", await NbGet("Logical_Switch_Port", "ln-" + sw, "tag"));
        Assert.Equal("1450", await NbGet("DHCP_Options", dhcp, "options:mtu"));

        AssertOk(await RunAsync(new ModifySwitchHandler(kit.Host), sw, P(("dnsServer", "9.9.9.9，1.0.0.1"))));
        Assert.Equal("{9.9.9.9, 1.0.0.1}", await NbGet("DHCP_Options", dhcp, "options:dns_server"));

        // a new gateway: the DHCP router option and the excluded gateway address move together
        AssertOk(await RunAsync(new ModifySwitchHandler(kit.Host), sw, P(("gateway", "10.101.0.254"))));
        Assert.Equal("10.101.0.254", await NbGet("DHCP_Options", dhcp, "options:router"));
        Assert.Equal("10.101.0.2 10.101.0.50 10.101.0.254", await NbGet("Logical_Switch", sw, "other_config:exclude_ips"));
        Assert.Equal("10.101.0.2", await NbGet("DHCP_Options", dhcp, "options:server_id"));

        AssertOk(await RunAsync(new ModifySwitchHandler(kit.Host), sw, P(("dhcp", "10.101.0.3"))));
        Assert.Equal("10.101.0.3", await NbGet("DHCP_Options", dhcp, "options:server_id"));

        AssertOk(await RunAsync(new ModifySwitchHandler(kit.Host), sw, P(("vlanId", "0"))));
        Assert.Equal("[]", await NbGet("Logical_Switch_Port", "ln-" + sw, "tag"));
        Assert.Equal("10.101.0.0/24", await NbGet("Logical_Switch", sw, "other_config:subnet"));
        Assert.Equal("1450", await NbGet("DHCP_Options", dhcp, "options:mtu"));
    }

    [OvnFact]
    public async Task ModifySwitch_refuses_a_missing_switch_nothing_to_change_and_values_outside_the_subnet_and_changes_nothing()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        await kit.SwitchAsync(sw, ("subnet", "10.102.0.1/24"), ("gateway", "10.102.0.1"), ("mtu", "1500"));
        var dhcp = Assert.Single(await NbFind("DHCP_Options", "_uuid", $"external_ids:kubestack-switch={sw}"));
        var before = await NbGet("DHCP_Options", dhcp, "options") + await NbGet("Logical_Switch", sw, "other_config");

        AssertFailed(await RunAsync(new ModifySwitchHandler(kit.Host), "kst-nosuch-sw", P(("mtu", "1400"))), ErrorClasses.VirtctlError, "does not exist");
        AssertFailed(await RunAsync(new ModifySwitchHandler(kit.Host), sw, P()), ErrorClasses.VirtctlError, "at least one of");
        // gateway outside the subnet, together with a valid mtu: neither is applied
        AssertFailed(await RunAsync(new ModifySwitchHandler(kit.Host), sw, P(("mtu", "1400"), ("gateway", "10.103.0.1"))), ErrorClasses.VirtctlError, "not inside the subnet");
        AssertFailed(await RunAsync(new ModifySwitchHandler(kit.Host), sw, P(("vlanId", "9"))), ErrorClasses.VirtctlError, "no localnet port");
        AssertFailed(await RunAsync(new ModifySwitchHandler(kit.Host), sw, P(("mtu", "abc"))), ErrorClasses.VirtctlError, "whole number");

        Assert.Equal(before, await NbGet("DHCP_Options", dhcp, "options") + await NbGet("Logical_Switch", sw, "other_config"));
    }

    [OvnFact]
    public async Task DeleteSwitch_removes_the_switch_its_dhcp_options_and_localnet_port_and_refuses_while_vm_ports_exist()
    {
        await using var kit = new NetworkTestKit();
        var sw = Short("sw");
        await kit.SwitchAsync(sw, ("subnet", "10.104.0.1/24"), ("gateway", "10.104.0.1"), ("bridge", "br-ex"), ("vlanId", "3"));
        var port = await kit.VmPortAsync("kst-vm", sw, "52:54:00:04:00:01", "10.104.0.5");

        AssertFailed(await RunAsync(new DeleteSwitchHandler(kit.Host), sw, P()), ErrorClasses.VirtctlError, "still has 1 VM port(s) (" + port);
        Assert.Single(await NbFind("Logical_Switch", "name", $"name={sw}"));
        AssertFailed(await RunAsync(new DeleteSwitchHandler(kit.Host), sw, P(("bridge", "br-other"))), ErrorClasses.VirtctlError, "still has");

        await Sh("ovn-nbctl", "lsp-del", port);
        AssertFailed(await RunAsync(new DeleteSwitchHandler(kit.Host), sw, P(("bridge", "br-other"))), ErrorClasses.VirtctlError, "attached to bridge br-ex, not to br-other");
        Assert.Single(await NbFind("Logical_Switch", "name", $"name={sw}"));

        AssertOk(await RunAsync(new DeleteSwitchHandler(kit.Host), sw, P(("bridge", "br-ex"))));
        Assert.Empty(await NbFind("Logical_Switch", "name", $"name={sw}"));
        Assert.Empty(await NbFind("Logical_Switch_Port", "name", $"name=ln-{sw}"));
        Assert.Empty(await NbFind("DHCP_Options", "_uuid", $"external_ids:kubestack-switch={sw}"));

        AssertFailed(await RunAsync(new DeleteSwitchHandler(kit.Host), sw, P()), ErrorClasses.VirtctlError, "does not exist");
        AssertOk(await RunAsync(new DeleteSwitchHandler(kit.Host), sw, P(), attempt: 2));
    }
}
