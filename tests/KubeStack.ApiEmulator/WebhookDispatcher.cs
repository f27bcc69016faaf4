using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeStack.ApiEmulator;

/// <summary>
/// Calls the validating webhooks registered through admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration
/// objects, as kube-apiserver's ValidatingAdmissionWebhook plugin does
/// (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/): rules (operations,
/// apiGroups, apiVersions, resources with subresources, scope), namespaceSelector, objectSelector, failurePolicy,
/// timeoutSeconds, clientConfig.url or clientConfig.service (resolved by <see cref="EmulatorOptions.WebhookServiceResolver"/>),
/// caBundle trust, AdmissionReview v1, warnings. Not covered: matchConditions (CEL), matchPolicy Equivalent conversions.
/// </summary>
public sealed class WebhookDispatcher(ApiEmulator api) : IAdmissionHook
{
    const string ConfigStorageKey = "admissionregistration.k8s.io/validatingwebhookconfigurations";

    public async ValueTask ValidateAsync(AdmissionRequest request, CancellationToken ct)
    {
        // webhooks are never called for webhook configurations themselves (so a bad webhook cannot lock itself in)
        if (request.Resource.Group == "admissionregistration.k8s.io") return;
        foreach (var config in api.Store.List(ConfigStorageKey, null).Items)
        {
            foreach (var hook in (config["webhooks"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (!Matches(hook, request)) continue;
                await CallAsync(hook, request, ct).ConfigureAwait(false);
            }
        }
    }

    bool Matches(JsonObject hook, AdmissionRequest r)
    {
        bool ruleMatch = (hook["rules"] as JsonArray ?? []).OfType<JsonObject>().Any(rule =>
            Has(rule["operations"], r.Operation) && Has(rule["apiGroups"], r.Resource.Group) && Has(rule["apiVersions"], r.Resource.Version)
            && ResourceMatches(rule["resources"] as JsonArray, r.Resource.Plural, r.SubResource)
            && (Meta.Str(rule["scope"]) ?? "*") switch { "Namespaced" => r.Resource.Namespaced, "Cluster" => !r.Resource.Namespaced, _ => true });
        if (!ruleMatch) return false;

        if (hook["objectSelector"] is JsonObject os && !IsEmptySelector(os))
        {
            var sel = SelectorOf(os);
            bool any = (r.Object is not null && sel(Meta.Labels(r.Object))) || (r.OldObject is not null && sel(Meta.Labels(r.OldObject)));
            if (!any) return false;
        }
        if (hook["namespaceSelector"] is JsonObject ns && !IsEmptySelector(ns))
        {
            var sel = SelectorOf(ns);
            if (r.Resource.Group == "" && r.Resource.Plural == "namespaces")
            {
                if (!sel(Meta.Labels(r.Object ?? r.OldObject ?? new JsonObject()))) return false;
            }
            else if (r.Resource.Namespaced)
            {
                var nsObj = api.Store.Get("/namespaces", null, r.Namespace ?? "");
                if (!sel(nsObj is null ? new Dictionary<string, string>() : Meta.Labels(nsObj))) return false;
            }
            // other cluster-scoped objects: the namespace selector never skips the webhook
        }
        return true;
    }

    static bool Has(JsonNode? list, string value) =>
        list is JsonArray a && a.Any(v => Meta.Str(v) is "*" || Meta.Str(v) == value);

    static bool ResourceMatches(JsonArray? resources, string plural, string? sub)
    {
        foreach (var r in (resources ?? []).Select(Meta.Str).OfType<string>())
        {
            var parts = r.Split('/', 2);
            var (rp, rs) = (parts[0], parts.Length > 1 ? parts[1] : null);
            if (rp != "*" && rp != plural) continue;
            if (sub is null ? rs is null : rs is "*" || rs == sub) return true;
        }
        return false;
    }

    static bool IsEmptySelector(JsonObject s) =>
        (s["matchLabels"] is not JsonObject ml || ml.Count == 0) && (s["matchExpressions"] is not JsonArray me || me.Count == 0);

    /// <summary>A metav1.LabelSelector (matchLabels and matchExpressions with In, NotIn, Exists, DoesNotExist).</summary>
    internal static Func<IReadOnlyDictionary<string, string>, bool> SelectorOf(JsonObject s)
    {
        var reqs = new List<Func<IReadOnlyDictionary<string, string>, bool>>();
        if (s["matchLabels"] is JsonObject ml)
            foreach (var (k, v) in ml)
            {
                var value = Meta.Str(v);
                reqs.Add(l => l.TryGetValue(k, out var x) && x == value);
            }
        foreach (var e in (s["matchExpressions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var key = Meta.Str(e["key"]) ?? "";
            var values = (e["values"] as JsonArray ?? []).Select(Meta.Str).OfType<string>().ToHashSet(StringComparer.Ordinal);
            reqs.Add(Meta.Str(e["operator"]) switch
            {
                "In" => l => l.TryGetValue(key, out var x) && values.Contains(x),
                "NotIn" => l => !l.TryGetValue(key, out var x) || !values.Contains(x),
                "Exists" => l => l.ContainsKey(key),
                "DoesNotExist" => l => !l.ContainsKey(key),
                var op => throw ApiError.BadRequest($"invalid label selector operator {op}"),
            });
        }
        return l => reqs.All(f => f(l));
    }

    async Task CallAsync(JsonObject hook, AdmissionRequest r, CancellationToken ct)
    {
        var name = Meta.Str(hook["name"]) ?? "";
        var failurePolicy = Meta.Str(hook["failurePolicy"]) ?? "Fail";
        var timeout = TimeSpan.FromSeconds(hook["timeoutSeconds"] is JsonValue tv ? Math.Clamp(Meta.AsDouble(tv), 1, 30) : 10);
        JsonObject? response;
        try
        {
            response = await PostAsync(hook, r, timeout, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException or FormatException or IOException)
        {
            if (failurePolicy == "Ignore") return;
            var why = e is TaskCanceledException ? "context deadline exceeded" : e.Message;
            throw new ApiError(500, "InternalError", $"Internal error occurred: failed calling webhook \"{name}\": failed to call webhook: {why}");
        }

        foreach (var w in (response["warnings"] as JsonArray ?? []).Select(Meta.Str).OfType<string>())
            r.AddWarning(w);
        if (response["allowed"] is JsonValue allowed && allowed.GetValueKind() == JsonValueKind.True) return;

        // a denial, shaped like ToStatusErr in k8s.io/apiserver/pkg/admission/plugin/webhook/errors
        var status = response["status"] as JsonObject ?? new JsonObject();
        var code = status["code"] is JsonValue cv ? (int)Meta.AsLong(cv) : 0;
        if (code < 400) code = 400;
        var deniedBy = $"admission webhook \"{name}\" denied the request";
        var message = Meta.Str(status["message"]) is { Length: > 0 } m ? $"{deniedBy}: {m}"
            : Meta.Str(status["reason"]) is { Length: > 0 } rs ? $"{deniedBy}: {rs}"
            : $"{deniedBy} without explanation";
        throw new ApiError(code, Meta.Str(status["reason"]) ?? "", message, status["details"]?.DeepClone() as JsonObject);
    }

    async Task<JsonObject> PostAsync(JsonObject hook, AdmissionRequest r, TimeSpan timeout, CancellationToken ct)
    {
        var cc = hook["clientConfig"] as JsonObject ?? throw new InvalidOperationException("webhook without clientConfig");
        Uri uri;
        if (Meta.Str(cc["url"]) is { } url) uri = new Uri(url);
        else if (cc["service"] is JsonObject svc)
        {
            var port = svc["port"] is JsonValue pv ? (int)Meta.AsLong(pv) : 443;
            uri = api.Options.WebhookServiceResolver?.Invoke(Meta.Str(svc["namespace"]) ?? "", Meta.Str(svc["name"]) ?? "", port, Meta.Str(svc["path"]) ?? "/")
                ?? throw new InvalidOperationException($"service {Meta.Str(svc["namespace"])}/{Meta.Str(svc["name"])} is not reachable from the emulator (set EmulatorOptions.WebhookServiceResolver)");
        }
        else throw new InvalidOperationException("webhook clientConfig needs url or service");

        var versions = (hook["admissionReviewVersions"] as JsonArray ?? []).Select(Meta.Str).ToList();
        if (!versions.Contains("v1")) throw new InvalidOperationException("webhook does not accept admission.k8s.io/v1 AdmissionReview");

        using var handler = new HttpClientHandler();
        if (Meta.Str(cc["caBundle"]) is { Length: > 0 } ca)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPem(Encoding.UTF8.GetString(Convert.FromBase64String(ca)));
            handler.ServerCertificateCustomValidationCallback = (_, cert, _, errors) =>
            {
                if (cert is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(cert);
            };
        }
        using var http = new HttpClient(handler) { Timeout = timeout };
        var uid = Guid.NewGuid().ToString();
        var gvk = new JsonObject { ["group"] = r.Resource.Group, ["version"] = r.Resource.Version, ["kind"] = r.Resource.Kind };
        var gvr = new JsonObject { ["group"] = r.Resource.Group, ["version"] = r.Resource.Version, ["resource"] = r.Resource.Plural };
        var req = new JsonObject
        {
            ["uid"] = uid,
            ["kind"] = gvk,
            ["resource"] = gvr,
            ["requestKind"] = gvk.DeepClone(),
            ["requestResource"] = gvr.DeepClone(),
            ["name"] = r.Name,
            ["operation"] = r.Operation,
            ["userInfo"] = new JsonObject { ["username"] = "kubestack-emulator", ["groups"] = new JsonArray("system:authenticated") },
            ["object"] = r.Object?.DeepClone(),
            ["oldObject"] = r.OldObject?.DeepClone(),
            ["dryRun"] = r.DryRun,
        };
        if (r.SubResource is not null) req["subResource"] = r.SubResource;
        if (r.Namespace is not null) req["namespace"] = r.Namespace;
        var review = new JsonObject { ["apiVersion"] = "admission.k8s.io/v1", ["kind"] = "AdmissionReview", ["request"] = req };
        using var content = new StringContent(review.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var resp = await http.PostAsync(uri, content, ct).ConfigureAwait(false);
        if (!resp.IsSuccessStatusCode) throw new HttpRequestException($"the server responded with status {(int)resp.StatusCode}");
        var body = JsonNode.Parse(await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false)) as JsonObject
            ?? throw new JsonException("the webhook response is not an AdmissionReview object");
        var response = body["response"] as JsonObject ?? throw new JsonException("the webhook response has no response");
        if (Meta.Str(response["uid"]) != uid) throw new InvalidOperationException($"expected response.uid=\"{uid}\", got \"{Meta.Str(response["uid"])}\"");
        return response;
    }
}
