using System.Net;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KubeStack.ApiEmulator;

/// <summary>Options of an emulator instance.</summary>
public sealed class EmulatorOptions
{
    /// <summary>TCP port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; init; }
    /// <summary>How many changes the watch history keeps before older resourceVersions get 410 Gone.</summary>
    public int HistoryWindow { get; init; } = 1000;
    /// <summary>How often a watch that asked for bookmarks (allowWatchBookmarks=true) gets a BOOKMARK event.</summary>
    public TimeSpan BookmarkInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How long a watch without timeoutSeconds stays open (kube-apiserver: 30 to 60 minutes).</summary>
    public TimeSpan DefaultWatchTimeout { get; init; } = TimeSpan.FromMinutes(30);
    /// <summary>Calls the webhooks of ValidatingWebhookConfiguration objects on writes (default true).</summary>
    public bool CallValidatingWebhooks { get; init; } = true;
    /// <summary>
    /// Turns a webhook's clientConfig.service (namespace, name, port, path) into a URL the emulator can reach
    /// (no cluster network here); null: service-based webhooks fail as unreachable, subject to their failurePolicy.
    /// </summary>
    public Func<string, string, int, string, Uri?>? WebhookServiceResolver { get; init; }
    /// <summary>Log requests to this logger factory (null: no logging).</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
    /// <summary>Called after every request with "METHOD /path?query -> CODE (N ms)" (null: not logged).</summary>
    public Action<string>? RequestLog { get; init; }
}

/// <summary>
/// A Kubernetes API server emulator on loopback: <c>await using var api = await ApiEmulator.StartAsync();</c>.
/// Serves discovery, OpenAPI v3, CRDs and their custom resources, core Namespace/Node/Event/Secret/ConfigMap,
/// events.k8s.io Events, coordination.k8s.io Leases and admissionregistration.k8s.io webhook configurations,
/// with resourceVersions, conflicts, the status subresource, finalizers, selectors, patches, watches and Tables.
/// </summary>
public sealed class ApiEmulator : IAsyncDisposable
{
    readonly WebApplication _app;

    public ObjectStore Store { get; }
    public ResourceRegistry Registry { get; }
    public FaultInjector Faults { get; }
    public EmulatorOptions Options { get; }
    /// <summary>Validating admission hooks run on every create, update, patch and delete (the webhook seam).</summary>
    public IList<IAdmissionHook> AdmissionHooks { get; } = new List<IAdmissionHook>();
    /// <summary>http://127.0.0.1:PORT</summary>
    public string BaseUrl { get; private set; } = "";
    public int Port { get; private set; }

    internal RequestHandler Handler { get; }

    ApiEmulator(WebApplication app, EmulatorOptions options)
    {
        _app = app;
        Options = options;
        Store = new ObjectStore { HistoryWindow = options.HistoryWindow };
        Registry = new ResourceRegistry();
        Faults = new FaultInjector(Store);
        Handler = new RequestHandler(this);
        if (options.CallValidatingWebhooks) AdmissionHooks.Add(new WebhookDispatcher(this));
    }

    public static async Task<ApiEmulator> StartAsync(EmulatorOptions? options = null, CancellationToken ct = default)
    {
        options ??= new EmulatorOptions();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (options.LoggerFactory is not null) builder.Services.AddSingleton(options.LoggerFactory);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port, l => l.Protocols = HttpProtocols.Http1);
            k.Limits.MaxRequestBodySize = 3 * 1024 * 1024; // kube-apiserver's request body limit (3 MiB)
        });
        var app = builder.Build();
        var emulator = new ApiEmulator(app, options);
        app.Run(emulator.Handler.HandleAsync);
        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Urls.First();
        emulator.Port = new Uri(address).Port;
        emulator.BaseUrl = $"http://127.0.0.1:{emulator.Port}";
        emulator.Handler.SeedDefaults();
        return emulator;
    }

    /// <summary>Writes a kubeconfig pointing at this emulator (context "kubestack-emulator").</summary>
    public string WriteKubeconfig(string path, string defaultNamespace = "default")
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllText(path, Kubeconfig(defaultNamespace));
        return path;
    }

    /// <summary>The kubeconfig text for this emulator (no credentials: the emulator does not authenticate).</summary>
    public string Kubeconfig(string defaultNamespace = "default") => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: kubestack-emulator
          cluster:
            server: {BaseUrl}
        users:
        - name: kubestack-emulator
          user: {"{}"}
        contexts:
        - name: kubestack-emulator
          context:
            cluster: kubestack-emulator
            user: kubestack-emulator
            namespace: {defaultNamespace}
        current-context: kubestack-emulator
        preferences: {"{}"}

        """;

    /// <summary>A KubernetesClient for this emulator.</summary>
    public Kubernetes CreateClient() => new(new KubernetesClientConfiguration { Host = BaseUrl });

    /// <summary>Registers a CRD (as <c>kubectl apply</c> of it would); returns the stored object.</summary>
    public Task<JsonObject> ApplyCrdAsync(JsonObject crd, CancellationToken ct = default) => Handler.ApplyDirectAsync(crd, ct);

    /// <summary>Registers every CRD found in the *.yaml / *.yml / *.json files of a folder (multi-document YAML allowed).</summary>
    public async Task<int> RegisterCrdsFromFolderAsync(string folder, CancellationToken ct = default)
    {
        int n = 0;
        foreach (var file in Directory.EnumerateFiles(folder).Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            foreach (var doc in Yaml.LoadAll(await File.ReadAllTextAsync(file, ct).ConfigureAwait(false)))
            {
                if (Meta.Str(doc["kind"]) != "CustomResourceDefinition") continue;
                await ApplyCrdAsync(doc, ct).ConfigureAwait(false);
                n++;
            }
        }
        return n;
    }

    public async ValueTask DisposeAsync()
    {
        Store.DropAllWatches();
        Faults.Resume();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(cts.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
