using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;
using Microsoft.Extensions.Logging;

namespace KubeStack.NodeAgent.Runtime;

/// <summary>
/// Runs one lifecycle operation of one kind on this node (one class per operation, in
/// <c>Lifecycle/&lt;Kind&gt;/&lt;Operation&gt;Handler.cs</c>). Handlers probe the host first and are idempotent: the
/// runtime may call them again for the same submission after a crash (the request was claimed, then the agent died),
/// so running twice must converge to the same host state and the same result.
/// Handlers never write to the Kubernetes object: they return a <see cref="HandlerResult"/> and the runtime writes
/// the request record, conditions, the seed's view and Events.
/// </summary>
public interface ILifecycleHandler
{
    /// <summary>The kind (<see cref="Kinds"/>).</summary>
    string Kind { get; }

    /// <summary>The lifecycle key under spec.lifecycle (createDisk).</summary>
    string Key { get; }

    Task<HandlerResult> HandleAsync(RequestContext context, CancellationToken cancellationToken);
}

/// <summary>
/// Cleans up the host side of an object of one kind when it is deleted with <c>kubectl delete</c> (finalizer
/// <c>doslab.io/host-cleanup</c>, architecture §1.6). Idempotent: nothing left on the host is success.
/// </summary>
public interface IObjectCleanup
{
    string Kind { get; }

    Task<HandlerResult> CleanupAsync(CleanupContext context, CancellationToken cancellationToken);
}

/// <summary>
/// Reads the observed host state of an object (the seed's view and the power state) without changing anything: used
/// to complete the seed's view after a restart and by the periodic resync. Returns null when the host object does not exist.
/// </summary>
public interface IObservedStateReader
{
    string Kind { get; }

    Task<ObservedState?> ReadAsync(KubeStackResource obj, string nodeName, CancellationToken cancellationToken);
}

/// <summary>What a reader saw: the view that goes under the kind's result key, and for VMs the power state.</summary>
public sealed record ObservedState(JsonNode? View, string? PowerState = null);

/// <summary>Everything a handler needs about the request it runs.</summary>
public sealed class RequestContext
{
    public required KubeStackResource Object { get; init; }

    /// <summary>The catalog entry of the operation (parameters, effect).</summary>
    public required OperationSpec Operation { get; init; }

    /// <summary>A copy of spec.lifecycle.&lt;key&gt; (the handler may read it freely).</summary>
    public required JsonObject Parameters { get; init; }

    public required string NodeName { get; init; }

    /// <summary>The request's event ID (label kubestack.label.event.id or eventId), when the client set one.</summary>
    public string? EventId { get; init; }

    /// <summary>1 for the first run of this submission; more after a crash or a retryable failure.</summary>
    public required int Attempt { get; init; }

    public required ILogger Logger { get; init; }

    public string Kind => Object.Kind;
    public string Name => Object.Metadata.Name;
    public string Namespace => Object.Metadata.NamespaceProperty;
    public string Key => Operation.Key;
}

public sealed class CleanupContext
{
    public required KubeStackResource Object { get; init; }
    public required string NodeName { get; init; }
    public required ILogger Logger { get; init; }
}

/// <summary>
/// The typed outcome of a handler; the runtime turns it into the request record, conditions, the seed's view, Events
/// and the requeue decision.
/// </summary>
public abstract record HandlerResult
{
    private HandlerResult()
    {
    }

    /// <summary>The operation is done.</summary>
    /// <param name="View">The observed object, written under the kind's result key (spec.domain, spec.volume, ...); null leaves it as it is.</param>
    /// <param name="PowerState">VMs: the power state after the operation (spec.powerstate and status.powerState).</param>
    /// <param name="Message">A sentence for status and the Event; a default one is made when null.</param>
    /// <param name="ExtraSpec">Other seed fields to set in spec (VirtualMachineNetwork's <c>type</c>), by name.</param>
    public sealed record Success(JsonNode? View, string? PowerState, string? Message, JsonObject? ExtraSpec) : HandlerResult
    {
        /// <summary>
        /// Set when the operation moved the host object to another node (migrateVM, migrateDisk): the runtime then hands
        /// the object over to that node's agent: label <c>host</c>, <c>spec.nodeName</c> and <c>status.nodeName</c>.
        /// </summary>
        public string? MovedToNode { get; init; }
    }

    /// <summary>The operation failed. <paramref name="Retryable"/> failures are retried with backoff up to the attempt limit.</summary>
    public sealed record Failure(string ErrorClass, string Message, bool Retryable) : HandlerResult;

    /// <summary>Not finished (waiting for the guest, a long copy): run the handler again after <paramref name="Delay"/>.</summary>
    public sealed record Requeue(TimeSpan Delay, string? Message) : HandlerResult;

    public static HandlerResult Succeeded(JsonNode? view = null, string? powerState = null, string? message = null, JsonObject? extraSpec = null) =>
        new Success(view, powerState, message, extraSpec);

    public static HandlerResult Failed(string errorClass, string message, bool retryable = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(errorClass);
        ArgumentException.ThrowIfNullOrWhiteSpace(message);
        return new Failure(errorClass, message, retryable);
    }

    public static HandlerResult RequeueAfter(TimeSpan delay, string? message = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(delay, TimeSpan.Zero);
        return new Requeue(delay, message);
    }
}
