using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using KubeStack.Contracts.Resources;
using KubeStack.Operator.Observability;
using Microsoft.Extensions.Logging;

namespace KubeStack.Operator.Webhooks;

/// <summary>
/// Answers AdmissionReview v1 requests for the 8 doslab.io kinds (CREATE and UPDATE; the status subresource is not
/// hooked). A write that leaves spec.lifecycle unchanged (the agent's own writes, label edits) is allowed at once.
/// </summary>
public sealed class AdmissionHandler
{
    private readonly RequestChecks _checks;
    private readonly ILogger _logger;

    public AdmissionHandler(RequestChecks checks, ILogger<AdmissionHandler> logger)
    {
        _checks = checks ?? throw new ArgumentNullException(nameof(checks));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>The AdmissionReview answer to <paramref name="review"/> (same apiVersion and kind, response.uid = request.uid).</summary>
    public async Task<JsonObject> ReviewAsync(JsonObject review, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(review);
        var request = review["request"] as JsonObject ?? throw new ArgumentException("The AdmissionReview has no request.", nameof(review));
        var uid = (string?)request["uid"] ?? "";
        using var activity = StartSpan(request, out var kind, out var operationKey);
        var problem = await DecideAsync(request, cancellationToken).ConfigureAwait(false);
        if (operationKey is not null)
        {
            OperatorTelemetry.Admissions.Add(1, new("kind", kind), new("operation", operationKey),
                new("result", problem is null ? "allowed" : "denied"), new("reason", problem?.Reason ?? ""));
            activity?.SetTag("kubestack.admission", problem is null ? "allowed" : "denied");
        }

        var response = new JsonObject { ["uid"] = uid, ["allowed"] = problem is null };
        if (problem is not null)
        {
            response["status"] = new JsonObject
            {
                ["code"] = CodeOf(problem.Reason),
                ["reason"] = StatusReasonOf(problem.Reason),
                ["message"] = problem.Message,
            };
            _logger.LogInformation("Denied {Operation} of {Kind} {Namespace}/{Name}: {Reason}: {Message}",
                (string?)request["operation"], (string?)request["kind"]?["kind"], (string?)request["namespace"], (string?)request["name"], problem.Reason, problem.Message);
        }

        return new JsonObject
        {
            ["apiVersion"] = (string?)review["apiVersion"] ?? "admission.k8s.io/v1",
            ["kind"] = "AdmissionReview",
            ["response"] = response,
        };
    }

    /// <summary>The "admission" span of a review that carries a lifecycle request (null for every other write).</summary>
    private static Activity? StartSpan(JsonObject request, out string kind, out string? operationKey)
    {
        kind = (string?)request["kind"]?["kind"] ?? "";
        operationKey = request["object"]?["spec"]?["lifecycle"] is JsonObject { Count: 1 } lifecycle ? lifecycle.First().Key : null;
        if (operationKey is null || !Kinds.All.Contains(kind)
            || (request["oldObject"] is JsonObject old && JsonNode.DeepEquals(request["object"]?["spec"]?["lifecycle"], old["spec"]?["lifecycle"])))
        {
            operationKey = null; // not a new request: nothing to count or trace
            return null;
        }

        var metadata = request["object"]?["metadata"];
        var labels = (metadata?["labels"] as JsonObject)?.Where(p => p.Value is JsonValue).ToDictionary(p => p.Key, p => (string?)p.Value ?? "");
        var annotations = (metadata?["annotations"] as JsonObject)?.Where(p => p.Value is JsonValue).ToDictionary(p => p.Key, p => (string?)p.Value ?? "");
        var ns = (string?)request["namespace"] ?? (string?)metadata?["namespace"] ?? "default";
        var name = (string?)request["name"] ?? (string?)metadata?["name"];
        return OperatorTelemetry.StartRequestSpan("admission", kind, ns, name, operationKey, OperatorTelemetry.EventIdOf(labels), annotations, ActivityKind.Server);
    }

    /// <summary>Null to allow, else why the request is refused.</summary>
    public async Task<RequestProblem?> DecideAsync(JsonObject request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var operation = (string?)request["operation"];
        if (operation is not ("CREATE" or "UPDATE") || request["object"] is not JsonObject objectJson
            || !string.IsNullOrEmpty((string?)request["subResource"]))
        {
            return null;
        }

        var kind = (string?)objectJson["kind"] ?? (string?)request["kind"]?["kind"];
        if (kind is null || !Kinds.All.Contains(kind))
        {
            return null;
        }

        var oldJson = request["oldObject"] as JsonObject;
        if (operation == "UPDATE" && oldJson is not null && JsonNode.DeepEquals(objectJson["spec"]?["lifecycle"], oldJson["spec"]?["lifecycle"]))
        {
            return null; // the agent's own writes and every write that does not change the request
        }

        var obj = KubernetesJson.Deserialize<KubeStackResource>(objectJson.ToJsonString());
        obj.Kind = kind;
        obj.Metadata.NamespaceProperty ??= (string?)request["namespace"] ?? "default";
        obj.Metadata.Name ??= (string?)request["name"];
        if (_checks.CheckFormat(obj) is { } format)
        {
            return format;
        }

        if (obj.Spec.LifecycleKey is null)
        {
            return null;
        }

        if (oldJson is not null && RequestChecks.CheckInProgress(obj, KubernetesJson.Deserialize<KubeStackResource>(oldJson.ToJsonString())) is { } busy)
        {
            return busy;
        }

        var node = !string.IsNullOrEmpty(obj.Spec.NodeName) ? obj.Spec.NodeName
            : obj.Metadata.Labels?.TryGetValue(Labels.Host, out var host) == true && !string.IsNullOrEmpty(host) ? host
            : obj.Status?.NodeName;
        return await _checks.CheckClusterAsync(obj, node, cancellationToken).ConfigureAwait(false);
    }

    private static int CodeOf(string reason) => reason switch
    {
        ProblemReasons.NotFound => 404,
        ProblemReasons.AlreadyExists => 409,
        ProblemReasons.RequestInProgress => 409,
        _ => 422,
    };

    private static string StatusReasonOf(string reason) => reason switch
    {
        ProblemReasons.NotFound => "NotFound",
        ProblemReasons.AlreadyExists => "AlreadyExists",
        ProblemReasons.RequestInProgress => "Conflict",
        _ => "Invalid",
    };
}
