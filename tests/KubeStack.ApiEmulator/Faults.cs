namespace KubeStack.ApiEmulator;

/// <summary>
/// Fault injection for tests: failures a real API server produces under load, restarts and contention, on demand.
/// </summary>
public sealed class FaultInjector
{
    readonly Lock _gate = new();
    readonly List<Rule> _rules = [];
    readonly ObjectStore _store;
    TaskCompletionSource _resume = NewOpen();

    sealed class Rule
    {
        public int Remaining;
        public int Code;
        public string? Verb;
        public string? Resource;
    }

    internal FaultInjector(ObjectStore store) => _store = store;

    static TaskCompletionSource NewOpen()
    {
        var t = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        t.SetResult();
        return t;
    }

    /// <summary>
    /// The next <paramref name="count"/> requests matching the filter fail with <paramref name="statusCode"/>
    /// (409 Conflict, 429 TooManyRequests with Retry-After: 1, 500 InternalError, or any other code).
    /// </summary>
    /// <param name="verb">get, list, watch, create, update, patch, delete, deletecollection; null matches every verb.</param>
    /// <param name="resource">the plural (virtualmachines), optionally with a subresource (virtualmachines/status); null matches every resource.</param>
    public void FailNext(int count, int statusCode, string? verb = null, string? resource = null)
    {
        lock (_gate) _rules.Add(new Rule { Remaining = count, Code = statusCode, Verb = verb, Resource = resource });
    }

    /// <summary>Removes every pending failure rule.</summary>
    public void Clear()
    {
        lock (_gate) _rules.Clear();
    }

    /// <summary>Ends every open watch stream: clients see the connection close and must watch again from their last resourceVersion.</summary>
    public int DropAllWatches() => _store.DropAllWatches();

    /// <summary>Holds every new request until <see cref="Resume"/> (an unresponsive API server).</summary>
    public void Pause()
    {
        lock (_gate)
            if (_resume.Task.IsCompleted) _resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Resume()
    {
        lock (_gate) _resume.TrySetResult();
    }

    /// <summary>
    /// Simulates an API server restart: watches are dropped and the change history is forgotten, so a watch from any
    /// earlier resourceVersion gets 410 Gone (Expired) and the client must list again. Stored objects survive, as they do in etcd.
    /// </summary>
    public void Restart(int? historyWindow = null) => _store.ResetHistory(historyWindow);

    /// <summary>Sets how many changes the watch history keeps.</summary>
    public int HistoryWindow { get => _store.HistoryWindow; set => _store.HistoryWindow = value; }

    internal Task WaitIfPausedAsync(CancellationToken ct)
    {
        Task t;
        lock (_gate) t = _resume.Task;
        return t.IsCompleted ? Task.CompletedTask : t.WaitAsync(ct);
    }

    internal ApiError? Take(string verb, string resource)
    {
        lock (_gate)
        {
            foreach (var r in _rules)
            {
                if (r.Remaining <= 0) continue;
                if (r.Verb is not null && r.Verb != verb) continue;
                if (r.Resource is not null && r.Resource != resource) continue;
                r.Remaining--;
                _rules.RemoveAll(x => x.Remaining <= 0);
                return r.Code switch
                {
                    409 => new ApiError(409, "Conflict", $"Operation cannot be fulfilled on {resource}: the object has been modified; please apply your changes to the latest version and try again (injected fault)"),
                    429 => new ApiError(429, "TooManyRequests", "the server has received too many requests and has asked us to try again later (injected fault)", null, new Dictionary<string, string> { ["Retry-After"] = "1" }),
                    500 => new ApiError(500, "InternalError", "Internal error occurred: injected fault"),
                    503 => new ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request (injected fault)"),
                    _ => new ApiError(r.Code, "Unknown", $"injected fault {r.Code}"),
                };
            }
            return null;
        }
    }
}

/// <summary>What an admission hook sees (shaped after admission.k8s.io/v1 AdmissionRequest).</summary>
public sealed record AdmissionRequest(string Operation, ResourceType Resource, string? SubResource, string? Namespace, string Name,
    System.Text.Json.Nodes.JsonObject? Object, System.Text.Json.Nodes.JsonObject? OldObject, bool DryRun)
{
    /// <summary>Adds a Warning header to the response (admission warnings, as webhooks return them).</summary>
    public Action<string> AddWarning { get; init; } = _ => { };
}

/// <summary>
/// A validating admission hook, run before a write is stored (the place where ValidatingWebhookConfigurations are
/// called). Throw <see cref="ApiError"/> to deny: the client gets that status.
/// </summary>
public interface IAdmissionHook
{
    ValueTask ValidateAsync(AdmissionRequest request, CancellationToken ct);
}
