using k8s;
using KubeStack.NodeAgent.Hosting;
using KubeStack.Operator.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace KubeStack.Observability.Tests;

/// <summary>The real agent and operator hosts (Program.cs's composition roots) in-process against an API emulator.</summary>
internal sealed class Stack : IAsyncDisposable
{
    private readonly List<IHost> _hosts = [];

    private Stack(ApiEmulator.ApiEmulator api, string dir)
    {
        Api = api;
        Dir = dir;
        Client = api.CreateClient();
        Kubeconfig = api.WriteKubeconfig(Path.Combine(dir, "kubeconfig"));
    }

    public ApiEmulator.ApiEmulator Api { get; }
    public Kubernetes Client { get; }
    public string Dir { get; }
    public string Kubeconfig { get; }

    public static async Task<Stack> StartAsync()
    {
        var api = await ApiEmulator.ApiEmulator.StartAsync();
        await api.RegisterCrdsFromFolderAsync(Path.Combine(Repo.Root, "crds"));
        return new Stack(api, Directory.CreateTempSubdirectory("kst-obs-").FullName);
    }

    /// <summary>Starts the agent of <paramref name="node"/> with its /metrics on <paramref name="metricsPort"/>.</summary>
    public async Task<IHost> StartAgentAsync(string node, string libvirtUri, int metricsPort)
    {
        var host = AgentHost.Build(["--node", node, "--kubeconfig", Kubeconfig, "--libvirt-uri", libvirtUri, "--domain-type", "qemu",
            "--metrics-port", metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--vm-resync-seconds", "5"]);
        _hosts.Add(host);
        await host.StartAsync();
        return host;
    }

    /// <summary>Starts the operator (webhook with a development certificate on loopback, controller) and registers its webhook.</summary>
    public async Task<IHost> StartOperatorAsync(int metricsPort)
    {
        var ca = Path.Combine(Dir, "webhook-ca.pem");
        var host = OperatorHost.Build(["--kubeconfig", Kubeconfig, "--webhook-dev-cert", "true", "--webhook-dev-ca-out", ca,
            "--webhook-address", "127.0.0.1", "--webhook-port", "0", "--identity", "obs-operator-1", "--leader-namespace", "default",
            "--metrics-port", metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        _hosts.Add(host);
        await host.StartAsync();
        var runtime = host.Services.GetRequiredService<OperatorRuntime>();
        var address = await Eventually.GetAsync(() => Task.FromResult(File.Exists(ca) && runtime.Webhook is { } w ? w.Address : null),
            "the operator's webhook to start", TimeSpan.FromSeconds(60));
        var caBundle = Convert.ToBase64String(await File.ReadAllBytesAsync(ca));
        var url = new Uri(address, KubeStack.Operator.Webhooks.WebhookServer.ValidatePath);
        var registration = await Repo.RunAsync("kubectl", ["apply", "-f", "-"], new Dictionary<string, string?> { ["KUBECONFIG"] = Kubeconfig }, $$"""
            apiVersion: admissionregistration.k8s.io/v1
            kind: ValidatingWebhookConfiguration
            metadata: {name: kubestack-obs-test}
            webhooks:
              - name: requests.doslab.io
                admissionReviewVersions: ["v1"]
                sideEffects: None
                failurePolicy: Fail
                timeoutSeconds: 10
                clientConfig: {url: "{{url}}", caBundle: "{{caBundle}}"}
                rules:
                  - operations: ["CREATE", "UPDATE"]
                    apiGroups: ["doslab.io"]
                    apiVersions: ["v1"]
                    resources: ["virtualmachines"]
                    scope: Namespaced
            """);
        Assert.True(registration.ExitCode == 0, registration.StandardError);
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in Enumerable.Reverse(_hosts))
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(stop.Token);
            host.Dispose();
        }

        await Api.DisposeAsync();
        Directory.Delete(Dir, recursive: true);
    }
}
