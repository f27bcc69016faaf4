using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace KubeStack.ApiEmulator.Tests;

/// <summary>
/// The real kubectl (/usr/bin/kubectl, v1.32) against the emulator through a temporary kubeconfig: what a user does
/// with our resources must work exactly as against kube-apiserver. Skipped (with the reason) where kubectl is missing.
/// </summary>
public sealed class KubectlTests : IAsyncLifetime
{
    ApiEmulator _api = null!;
    Kubectl _kubectl = null!;
    IKubernetes _client = null!;

    const string VmYaml = """
        apiVersion: doslab.io/v1
        kind: VirtualMachine
        metadata:
          name: vm1
          labels:
            host: node22
            kubestack.label.event.id: ev-1
        spec:
          nodeName: node22
          lifecycle:
            createDisk:
              capacity: "10737418240"
              format: qcow2
        """;

    public async Task InitializeAsync()
    {
        _api = await ApiEmulator.StartAsync();
        _kubectl = new Kubectl(_api);
        _client = _api.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        _kubectl.Dispose();
        await _api.DisposeAsync();
    }

    async Task ApplyCrdAndVmAsync()
    {
        await _kubectl.OkStdinAsync(TestCrds.VirtualMachineYaml, "apply", "-f", "-");
        await _kubectl.OkAsync("wait", "--for", "condition=established", "crd/virtualmachines.doslab.io", "--timeout=10s");
        var outp = await _kubectl.OkStdinAsync(VmYaml, "apply", "-f", "-");
        Assert.Contains("virtualmachine.doslab.io/vm1 created", outp);
    }

    [SkippableFact]
    public async Task Apply_crd_makes_the_kind_served_and_wait_for_established_succeeds()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        var applied = await _kubectl.OkStdinAsync(TestCrds.VirtualMachineYaml, "apply", "-f", "-");
        Assert.Contains("customresourcedefinition.apiextensions.k8s.io/virtualmachines.doslab.io created", applied);
        Assert.Contains("condition met", await _kubectl.OkAsync("wait", "--for", "condition=established", "crd/virtualmachines.doslab.io", "--timeout=10s"));
        Assert.Contains("virtualmachines.doslab.io", await _kubectl.OkAsync("get", "crd"));
        var resources = await _kubectl.OkAsync("api-resources", "--api-group=doslab.io");
        Assert.Matches(@"virtualmachines\s+vm\s+doslab.io/v1\s+true\s+VirtualMachine", resources);
        Assert.Contains("No resources found", (await _kubectl.RunAsync("get", "vm")).Stderr);
    }

    [SkippableFact]
    public async Task Apply_vm_then_get_json_shows_the_server_set_metadata_and_the_request()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await ApplyCrdAndVmAsync();
        var vm = JsonNode.Parse(await _kubectl.OkAsync("get", "vm", "vm1", "-o", "json"))!;
        Assert.Equal("doslab.io/v1", (string?)vm["apiVersion"]);
        Assert.Equal("VirtualMachine", (string?)vm["kind"]);
        Assert.False(string.IsNullOrEmpty((string?)vm["metadata"]!["uid"]));
        Assert.False(string.IsNullOrEmpty((string?)vm["metadata"]!["resourceVersion"]));
        Assert.Equal(1, (int?)vm["metadata"]!["generation"]);
        Assert.Equal("default", (string?)vm["metadata"]!["namespace"]);
        Assert.NotNull(vm["metadata"]!["annotations"]!["kubectl.kubernetes.io/last-applied-configuration"]);
        Assert.Equal("10737418240", (string?)vm["spec"]!["lifecycle"]!["createDisk"]!["capacity"]);
        Assert.Equal("managed", (string?)vm["spec"]!["mode"]); // schema default applied
    }

    [SkippableFact]
    public async Task Reapply_with_a_change_patches_and_bumps_generation()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await ApplyCrdAndVmAsync();
        Assert.Contains("vm1 unchanged", await _kubectl.OkStdinAsync(VmYaml, "apply", "-f", "-"));
        var changed = VmYaml.Replace("format: qcow2", "format: raw", StringComparison.Ordinal);
        Assert.Contains("vm1 configured", await _kubectl.OkStdinAsync(changed, "apply", "-f", "-"));
        var vm = JsonNode.Parse(await _kubectl.OkAsync("get", "vm", "vm1", "-o", "json"))!;
        Assert.Equal("raw", (string?)vm["spec"]!["lifecycle"]!["createDisk"]!["format"]);
        Assert.Equal(2, (int?)vm["metadata"]!["generation"]);
    }

    [SkippableFact]
    public async Task Server_side_apply_creates_and_updates()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await _kubectl.OkStdinAsync(TestCrds.VirtualMachineYaml, "apply", "--server-side", "-f", "-");
        Assert.Contains("serverside-applied", await _kubectl.OkStdinAsync(VmYaml, "apply", "--server-side", "-f", "-"));
        var changed = VmYaml.Replace("nodeName: node22", "nodeName: node30", StringComparison.Ordinal);
        await _kubectl.OkStdinAsync(changed, "apply", "--server-side", "-f", "-");
        Assert.Equal("node30", await _kubectl.OkAsync("get", "vm", "vm1", "-o", "jsonpath={.spec.nodeName}"));
    }

    [SkippableFact]
    public async Task Get_prints_the_crd_printer_columns()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await ApplyCrdAndVmAsync();
        await _kubectl.OkAsync("patch", "vm", "vm1", "--subresource=status", "--type=merge", "-p",
            """{"status":{"powerState":"Running","conditions":[{"type":"Ready","status":"True","reason":"Running","message":"up"}]}}""");
        var lines = (await _kubectl.OkAsync("get", "vm")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^NAME\s+NODE\s+READY\s+POWER\s+AGE$", lines[0].Trim());
        Assert.Matches(@"^vm1\s+node22\s+True\s+Running\s+\d+s$", lines[1].Trim());
        var wide = await _kubectl.OkAsync("get", "virtualmachines.doslab.io", "-A");
        Assert.Matches(@"default\s+vm1\s+node22", wide);
    }

    [SkippableFact]
    public async Task Describe_shows_spec_status_and_the_objects_events()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await ApplyCrdAndVmAsync();
        var vm = await _client.GetVmAsync("vm1");
        // an Event written through events.k8s.io/v1, as the agent writes them; describe reads core/v1 Events
        await _client.EventsV1.CreateNamespacedEventAsync(new Eventsv1Event
        {
            Metadata = new V1ObjectMeta { Name = "vm1.ev1", NamespaceProperty = "default" },
            EventTime = DateTime.UtcNow,
            Regarding = new V1ObjectReference { ApiVersion = "doslab.io/v1", Kind = "VirtualMachine", Name = "vm1", NamespaceProperty = "default", Uid = vm.Metadata.Uid },
            Reason = "CreateDiskSucceeded",
            Note = "createDisk finished on node22 in 2s",
            Type = "Normal",
            Action = "createDisk",
            ReportingController = "kubestack.io/node-agent",
            ReportingInstance = "node22",
        }, "default");
        var text = await _kubectl.OkAsync("describe", "vm", "vm1");
        Assert.Contains("Name:         vm1", text);
        Assert.Contains("Capacity:  10737418240", text);
        Assert.Matches(@"Normal\s+CreateDiskSucceeded\s+.*createDisk finished on node22 in 2s", text);
    }

    [SkippableFact]
    public async Task Label_then_select_by_label()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await ApplyCrdAndVmAsync();
        Assert.Contains("vm1 labeled", await _kubectl.OkAsync("label", "vm", "vm1", "tier=gold"));
        Assert.Contains("vm1", await _kubectl.OkAsync("get", "vm", "-l", "tier=gold", "-o", "name"));
        Assert.Contains("No resources found", (await _kubectl.RunAsync("get", "vm", "-l", "tier in (silver)")).Stderr);
        Assert.Contains("vm1 annotated", await _kubectl.OkAsync("annotate", "vm", "vm1", "note=x"));
        Assert.Contains("vm1 unlabeled", await _kubectl.OkAsync("label", "vm", "vm1", "tier-"));
        Assert.Equal("", await _kubectl.OkAsync("get", "vm", "vm1", "-o", "jsonpath={.metadata.labels.tier}"));
    }

    [SkippableFact]
    public async Task Patch_merge_changes_spec_and_patch_status_changes_only_status()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await ApplyCrdAndVmAsync();
        await _kubectl.OkAsync("patch", "vm", "vm1", "--type=merge", "-p", """{"spec":{"nodeName":"node23"},"status":{"powerState":"Ignored"}}""");
        var vm = JsonNode.Parse(await _kubectl.OkAsync("get", "vm", "vm1", "-o", "json"))!;
        Assert.Equal("node23", (string?)vm["spec"]!["nodeName"]);
        Assert.Null(vm["status"]); // the main endpoint ignores status
        Assert.Equal(2, (int?)vm["metadata"]!["generation"]);

        await _kubectl.OkAsync("patch", "vm", "vm1", "--subresource=status", "--type=merge", "-p", """{"status":{"powerState":"Running"},"spec":{"nodeName":"ignored"}}""");
        vm = JsonNode.Parse(await _kubectl.OkAsync("get", "vm", "vm1", "-o", "json"))!;
        Assert.Equal("Running", (string?)vm["status"]!["powerState"]);
        Assert.Equal("node23", (string?)vm["spec"]!["nodeName"]);
        Assert.Equal(2, (int?)vm["metadata"]!["generation"]);

        await _kubectl.OkAsync("patch", "vm", "vm1", "--type=json", "-p", """[{"op":"remove","path":"/spec/lifecycle"}]""");
        Assert.Equal("", await _kubectl.OkAsync("get", "vm", "vm1", "-o", "jsonpath={.spec.lifecycle}"));
    }

    [SkippableFact]
    public async Task Wait_for_condition_Ready_returns_once_the_status_says_so()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await ApplyCrdAndVmAsync();
        var wait = _kubectl.RunAsync(["wait", "--for=condition=Ready", "vm/vm1", "--timeout=30s"]);
        await Task.Delay(300); // let kubectl reach its watch; it must still be waiting
        Assert.False(wait.IsCompleted);
        await _client.MergePatchAsync("vm1", new { status = new { conditions = new[] { new { type = "Ready", status = "True", reason = "Running", message = "up", lastTransitionTime = "2026-01-01T00:00:00Z" } } } }, status: true);
        var r = await wait.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("virtualmachine.doslab.io/vm1 condition met", r.Stdout);
    }

    [SkippableFact]
    public async Task Delete_with_a_finalizer_held_leaves_the_object_terminating_until_released()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await ApplyCrdAndVmAsync();
        await _kubectl.OkAsync("patch", "vm", "vm1", "--type=merge", "-p", """{"metadata":{"finalizers":["kubestack.io/cleanup"]}}""");
        Assert.Contains("\"vm1\" deleted", await _kubectl.OkAsync("delete", "vm", "vm1", "--wait=false"));
        Assert.NotEqual("", await _kubectl.OkAsync("get", "vm", "vm1", "-o", "jsonpath={.metadata.deletionTimestamp}"));

        var waitDeleted = _kubectl.RunAsync(["wait", "--for=delete", "vm/vm1", "--timeout=30s"]);
        await _kubectl.OkAsync("patch", "vm", "vm1", "--type=json", "-p", """[{"op":"remove","path":"/metadata/finalizers"}]""");
        var r = await waitDeleted.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, r.ToString());
        var get = await _kubectl.RunAsync("get", "vm", "vm1");
        Assert.NotEqual(0, get.ExitCode);
        Assert.Contains("virtualmachines.doslab.io \"vm1\" not found", get.Stderr);
    }

    [SkippableFact]
    public async Task Get_watch_streams_table_rows_for_changes()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await _kubectl.OkStdinAsync(TestCrds.VirtualMachineYaml, "apply", "-f", "-");
        await _kubectl.OkAsync("get", "vm"); // discovery cached before the watch starts
        var watch = _kubectl.RunAsync(["get", "vm", "--watch", "--request-timeout=5s"]);
        await _kubectl.OkStdinAsync(VmYaml, "apply", "-f", "-");
        await _client.MergePatchAsync("vm1", new { status = new { powerState = "Running" } }, status: true);
        var r = await watch.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, r.ToString());
        var rows = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("vm1", StringComparison.Ordinal)).ToList();
        Assert.Contains(rows, l => l.Contains("Running", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Explain_renders_the_crd_schema()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await ApplyCrdAndVmAsync();
        var text = await _kubectl.OkAsync("explain", "vm.spec.lifecycle");
        Assert.Contains("KIND:       VirtualMachine", text);
        Assert.Contains("Exactly one lifecycle operation; removed when it ends.", text);
        Assert.Contains("createDisk\t<Object>", text);
        var field = await _kubectl.OkAsync("explain", "vm.spec.lifecycle.createDisk.capacity");
        Assert.Contains("Size in bytes.", field);
    }

    [SkippableFact]
    public async Task Apply_of_an_invalid_vm_is_refused_naming_the_field_and_the_rule()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await ApplyCrdAndVmAsync();
        var bad = VmYaml.Replace("\"10737418240\"", "\"10G\"", StringComparison.Ordinal).Replace("name: vm1", "name: vm2", StringComparison.Ordinal);
        var r = await _kubectl.RunAsync(["apply", "-f", "-"], bad);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("The VirtualMachine \"vm2\" is invalid: spec.lifecycle.createDisk.capacity: Invalid value: \"10G\": spec.lifecycle.createDisk.capacity in body should match '^[0-9]+$'", r.Stderr);

        var twoOps = VmYaml.Replace("name: vm1", "name: vm3", StringComparison.Ordinal) + "\n    reboot: {}\n";
        r = await _kubectl.RunAsync(["apply", "-f", "-"], twoOps);
        Assert.Contains("spec.lifecycle: Too many: 2: must have at most 1 items", r.Stderr);
    }

    [SkippableFact]
    public async Task Apply_with_an_unknown_field_fails_under_default_strict_validation_and_is_pruned_when_ignored()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        await ApplyCrdAndVmAsync();
        var unknown = VmYaml.Replace("name: vm1", "name: vm4", StringComparison.Ordinal).Replace("  nodeName: node22", "  nodeName: node22\n  colour: blue", StringComparison.Ordinal);
        var r = await _kubectl.RunAsync(["apply", "-f", "-"], unknown);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("strict decoding error: unknown field \"spec.colour\"", r.Stderr);

        await _kubectl.OkStdinAsync(unknown, "apply", "--validate=false", "-f", "-");
        Assert.Equal("", await _kubectl.OkAsync("get", "vm", "vm4", "-o", "jsonpath={.spec.colour}"));
    }

    [SkippableFact]
    public async Task Core_kinds_configmap_secret_namespace_lease_work_with_kubectl()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        Assert.Matches(@"default\s+Active", await _kubectl.OkAsync("get", "ns"));
        // kubectl's imperative generators send protobuf bodies (k8s\0 envelope); manifests send JSON
        await _kubectl.OkAsync("create", "namespace", "team-a");
        await _kubectl.OkAsync("-n", "team-a", "create", "configmap", "cfg", "--from-literal=a=1");
        await _kubectl.OkAsync("-n", "team-a", "create", "secret", "generic", "s", "--from-literal=password=hunter2");
        await _kubectl.OkStdinAsync("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cfg2, namespace: team-a}
            data: {b: "2"}
            """, "apply", "-f", "-");
        Assert.Equal("2", await _kubectl.OkAsync("-n", "team-a", "get", "cm", "cfg2", "-o", "jsonpath={.data.b}"));
        Assert.Equal("1", await _kubectl.OkAsync("-n", "team-a", "get", "cm", "cfg", "-o", "jsonpath={.data.a}"));
        await _kubectl.OkAsync("-n", "team-a", "label", "configmap", "cfg", "x=y"); // a patch on a built-in type
        Assert.Equal("y", await _kubectl.OkAsync("-n", "team-a", "get", "cm", "cfg", "-o", "jsonpath={.metadata.labels.x}"));
        Assert.Equal("aHVudGVyMg==", await _kubectl.OkAsync("-n", "team-a", "get", "secret", "s", "-o", "jsonpath={.data.password}"));
        await _kubectl.OkStdinAsync("""
            apiVersion: coordination.k8s.io/v1
            kind: Lease
            metadata: {name: node22, namespace: kube-node-lease}
            spec: {holderIdentity: node22, leaseDurationSeconds: 40}
            """, "apply", "-f", "-");
        Assert.Matches(@"node22\s+node22", await _kubectl.OkAsync("-n", "kube-node-lease", "get", "lease"));
        await _kubectl.OkAsync("delete", "namespace", "team-a");
        Assert.Contains("not found", (await _kubectl.RunAsync("get", "namespace", "team-a")).Stderr);
    }

    [SkippableFact]
    public async Task All_repository_crds_apply_and_are_served()
    {
        Skip.IfNot(Kubectl.Available, "kubectl not installed at /usr/bin/kubectl");
        var dir = RepoCrdsDir();
        var files = dir is null ? [] : Directory.GetFiles(dir, "*.yaml");
        Skip.If(files.Length == 0, "no crds/*.yaml in the repository yet (generated by tools/KubeStack.Gen)");
        foreach (var f in files.Order(StringComparer.Ordinal))
            await _kubectl.OkAsync("apply", "-f", f);
        var crds = (await _kubectl.OkAsync("get", "crd", "-o", "name")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(files.Length, crds.Length);
        await _kubectl.OkAsync("wait", "--for", "condition=established", "crd", "--all", "--timeout=10s");
        var resources = await _kubectl.OkAsync("api-resources", "--api-group=doslab.io", "-o", "name");
        Assert.Equal(files.Length, resources.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // the contract's own example request (architecture §1.2) is accepted by the generated schema and listed
        const string disk = """
            apiVersion: doslab.io/v1
            kind: VirtualMachineDisk
            metadata:
              name: disk1
              labels: {host: node22}
            spec:
              nodeName: node22
              lifecycle:
                createDisk:
                  type: localfs
                  pool: pool2
                  capacity: "10737418240"
                  format: qcow2
            """;
        await _kubectl.OkStdinAsync(disk, "apply", "-f", "-");
        Assert.Matches(@"(?m)^disk1\s", await _kubectl.OkAsync("get", "vmd"));
        Assert.Equal("10737418240", await _kubectl.OkAsync("get", "vmd", "disk1", "-o", "jsonpath={.spec.lifecycle.createDisk.capacity}"));
    }

    static string? RepoCrdsDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(System.IO.Path.Combine(d.FullName, "KubeStack.Operator.sln")))
                return System.IO.Path.Combine(d.FullName, "crds");
        return null;
    }
}
