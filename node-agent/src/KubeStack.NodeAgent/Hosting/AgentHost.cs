using k8s;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Events;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Lifecycle.VirtualMachine;
using KubeStack.NodeAgent.Lifecycle.VirtualMachinePool;
using KubeStack.NodeAgent.Observability;
using KubeStack.NodeAgent.Runtime.Testing;
using KubeStack.NodeAgent.Runtime;
using KubeStack.NodeAgent.Watch;
using KubeStack.Runtime.Events;
using KubeStack.Runtime.Hosting;
using KubeStack.Runtime.Informers;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KubeStack.NodeAgent.Hosting;

/// <summary>Builds and runs the agent's generic host (Program.cs only calls <see cref="RunAsync"/>).</summary>
public static class AgentHost
{
    public const string Component = "kubestack-node-agent";

    /// <summary>Runs the agent; returns the process exit code (2 for a configuration error).</summary>
    public static Task<int> RunAsync(string[] args) => ComponentHost.RunAsync(Component, () => Build(args));

    /// <summary>
    /// The host: configuration (command line, environment), Serilog console logging (JSON when
    /// KUBESTACK_LOG_FORMAT=json), the Kubernetes client, the handlers found in this assembly, the request runtime.
    /// <paramref name="configure"/> lets the host-side parts (libvirt connection, host tools) add their services.
    /// </summary>
    public static IHost Build(string[] args, Action<IServiceCollection, AgentOptions>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(args);
        var options = AgentOptions.FromConfiguration(builder.Configuration);
        var testHandlers = TestHandlerSettings.FromEnvironment();
        var crash = EnvironmentCrashInjector.FromEnvironment();

        builder.Logging.ClearProviders();
        builder.Services.AddConsoleLogging(options.JsonLogs);

        var catalog = CatalogLoader.Default;
        var kubernetes = new Kubernetes(KubernetesConnection.Configuration(options.Kubeconfig, "agent"));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(catalog);
        builder.Services.AddSingleton(kubernetes);
        builder.Services.AddSingleton<IKubernetes>(kubernetes);
        builder.Services.AddSingleton<ICrashInjector>(crash);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IObjectApi>(sp => new KubeObjectApi(sp.GetRequiredService<IKubernetes>(), catalog));
        builder.Services.AddSingleton<IEventRecorder>(sp => new EventRecorder(sp.GetRequiredService<IKubernetes>(), Component, options.NodeName,
            sp.GetRequiredService<ILogger<EventRecorder>>()));
        builder.Services.AddSingleton(sp => new LifecycleEvents(sp.GetRequiredService<IEventRecorder>(), options.NodeName));
        // Host services of the storage handlers (pools, disks); TryAdd so other handler families may register the same ones.
        builder.Services.TryAddSingleton(sp => new LibvirtHost(options.LibvirtUri, sp.GetRequiredService<ILogger<LibvirtHost>>()));
        builder.Services.TryAddSingleton(QemuImg.Default);
        builder.Services.TryAddSingleton(PoolDriverRegistry.Default);
        // The VM handlers' shared host access (LibvirtHost above: opened on first use); the out-of-band VM watcher (not
        // with the recording test handlers, which run without libvirt).
        builder.Services.TryAddSingleton<VmHost>();
        // This node's objects by kind (the informer caches), read lazily: showPool and the storage resync tell which pool files belong to objects.
        builder.Services.TryAddSingleton(sp => new StorageInventory(kind =>
            sp.GetRequiredService<AgentController>().Informers.TryGetValue(kind, out var informer) ? informer.List() : []));
        // migrateVM/migrateVMDisk/migrateDisk: target nodes from the agent Leases (docs/migration.md)
        builder.Services.TryAddSingleton<KubeStack.NodeAgent.Lifecycle.Common.IDiskObjectLister>(sp =>
            new KubeStack.NodeAgent.Lifecycle.Common.KubeDiskObjectLister(sp.GetRequiredService<IKubernetes>()));
        builder.Services.TryAddSingleton<KubeStack.NodeAgent.Lifecycle.Common.MigrationDiskObjects>();
        // Objects of new host objects an operation made (cloneDisk's clone: docs/decisions.md result-objects)
        builder.Services.TryAddSingleton<KubeStack.NodeAgent.Lifecycle.Common.IObjectCreator>(sp =>
            new KubeStack.NodeAgent.Lifecycle.Common.KubeObjectCreator(sp.GetRequiredService<IKubernetes>()));
        builder.Services.TryAddSingleton<KubeStack.NodeAgent.Lifecycle.Common.ResultObjects>();
        builder.Services.TryAddSingleton<KubeStack.NodeAgent.Lifecycle.Common.IMigrationTargets>(sp =>
            new KubeStack.NodeAgent.Lifecycle.Common.MigrationTargets(sp.GetRequiredService<IKubernetes>()));
        // The network handlers' OVS/OVN access (ovs-vsctl, ovn-nbctl on their default sockets).
        builder.Services.TryAddSingleton<KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork.NetworkHost>();
        if (testHandlers is null)
        {
            builder.Services.AddSingleton(sp => new VmStateWatcher(
                sp.GetRequiredService<LibvirtHost>(),
                sp.GetRequiredService<IObjectApi>(),
                sp.GetRequiredService<IEventRecorder>(),
                () => sp.GetRequiredService<AgentController>().Informers[Kinds.VirtualMachine].List(),
                options.NodeName,
                new VmStateWatcherOptions { ResyncPeriod = options.VmResyncPeriod },
                sp.GetRequiredService<ILogger<VmStateWatcher>>()));
            builder.Services.AddHostedService<VmStateWatcherService>();
            // The storage resync (registers files found in pools, reports drift; docs/storage.md), at the VM resync period.
            builder.Services.AddSingleton(sp => new StoragePoolWatcher(
                sp.GetRequiredService<LibvirtHost>(),
                sp.GetRequiredService<IObjectApi>(),
                sp.GetRequiredService<IEventRecorder>(),
                sp.GetRequiredService<StorageInventory>(),
                options.NodeName,
                options.VmResyncPeriod,
                sp.GetRequiredService<ILogger<StoragePoolWatcher>>()));
            builder.Services.AddHostedService<StoragePoolWatcherService>();
        }

        builder.Services.AddLifecycleHandlers(typeof(AgentHost).Assembly);
        builder.Services.AddSingleton(sp => HandlerRegistration.BuildRegistry(sp, testHandlers));
        builder.Services.AddSingleton(new RequestRuntimeOptions { NodeName = options.NodeName, MaxAttempts = options.MaxAttempts, CheckAdmission = true });
        builder.Services.AddSingleton<RequestProcessor>();
        builder.Services.AddSingleton(sp => new AgentController(
            catalog,
            kind => new KubernetesListWatcher<KubeStackResource>(kubernetes, KubeObjectApi.ApiResourceOf(kind), labelSelector: $"{Labels.Host}={options.NodeName}"),
            sp.GetRequiredService<RequestProcessor>(),
            new AgentControllerOptions
            {
                Workers = options.Workers,
                ResyncPeriod = options.ResyncPeriod,
                RetryBaseDelay = options.RetryBaseDelay,
            },
            sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddHostedService<AgentService>();
        builder.Services.AddHostedService<NodeHeartbeat>(); // the operator's liveness and capacity signal (docs/operator.md)
        builder.Services.AddAgentTelemetry(builder.Configuration, options.NodeName); // /metrics and request traces (docs/metrics.md)
        configure?.Invoke(builder.Services, options);
        return builder.Build();
    }
}
