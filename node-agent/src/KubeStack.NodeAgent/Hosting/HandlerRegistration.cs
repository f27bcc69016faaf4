using System.Reflection;
using KubeStack.NodeAgent.Runtime;
using KubeStack.NodeAgent.Runtime.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace KubeStack.NodeAgent.Hosting;

/// <summary>
/// Finds the lifecycle handlers, cleanups and observed-state readers of an assembly (one class per operation under
/// <c>Lifecycle/</c>) and registers them as singletons; the registry is built from whatever exists, so an operation
/// without a handler fails truthfully ("not implemented on this node yet") instead of being lost.
/// </summary>
public static class HandlerRegistration
{
    private static readonly Type[] Contracts = [typeof(ILifecycleHandler), typeof(IObjectCleanup), typeof(IObservedStateReader)];

    public static IServiceCollection AddLifecycleHandlers(this IServiceCollection services, Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (var type in HandlerTypes(assembly))
        {
            foreach (var contract in Contracts.Where(c => c.IsAssignableFrom(type)))
            {
                services.AddSingleton(contract, type);
            }
        }

        return services;
    }

    /// <summary>Concrete handler types of <paramref name="assembly"/>, except the test doubles (registered only on request).</summary>
    public static IEnumerable<Type> HandlerTypes(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return assembly.GetTypes().Where(t =>
            t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false }
            && t.Namespace != typeof(RecordingTestHandler).Namespace
            && Contracts.Any(c => c.IsAssignableFrom(t)));
    }

    /// <summary>
    /// The registry of the registered handlers; with <paramref name="test"/> the recording test handlers replace the
    /// real ones for the operations they serve (crash and component tests of the runtime run without libvirt).
    /// </summary>
    public static HandlerRegistry BuildRegistry(IServiceProvider services, TestHandlerSettings? test)
    {
        ArgumentNullException.ThrowIfNull(services);
        var handlers = services.GetServices<ILifecycleHandler>().ToList();
        var cleanups = services.GetServices<IObjectCleanup>().ToList();
        var readers = services.GetServices<IObservedStateReader>().ToList();
        if (test is not null)
        {
            var served = test.Operations.ToHashSet();
            var kinds = test.Operations.Select(o => o.Kind).ToHashSet();
            handlers.RemoveAll(h => served.Contains((h.Kind, h.Key)));
            handlers.AddRange(test.Operations.Select(o => (ILifecycleHandler)new RecordingTestHandler(o.Kind, o.Key, test)));
            cleanups.RemoveAll(c => kinds.Contains(c.Kind));
            cleanups.AddRange(kinds.Select(k => (IObjectCleanup)new RecordingTestCleanup(k, test)));
            readers.RemoveAll(r => kinds.Contains(r.Kind));
            readers.AddRange(kinds.Select(k => (IObservedStateReader)new RecordingTestReader(k, test)));
        }

        return new HandlerRegistry(handlers, cleanups, readers);
    }
}
