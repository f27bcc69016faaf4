using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KubeStack.ApiEmulator;

internal sealed partial class RequestHandler
{
    static async Task<string> ReadBodyAsync(HttpContext ctx)
    {
        if ((ctx.Request.ContentType ?? "").StartsWith(Protobuf.ContentType, StringComparison.Ordinal))
        {
            // kubectl create namespace|configmap|secret send protobuf
            using var ms = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted).ConfigureAwait(false);
            return Protobuf.Decode(ms.ToArray()).ToJsonString();
        }
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(ctx.RequestAborted).ConfigureAwait(false);
    }

    static JsonObject ParseObject(string body)
    {
        var node = Yaml.ParseBody(body);
        return node as JsonObject ?? throw ApiError.BadRequest("the body of the request must be a JSON or YAML object");
    }

    static bool DryRun(IQueryCollection q) => q["dryRun"].Any(v => v == "All");

    /// <summary>fieldValidation: Strict (400 on unknown fields), Warn (Warning headers, the server default), Ignore.</summary>
    static string FieldValidation(IQueryCollection q)
    {
        var v = q["fieldValidation"].ToString();
        return v switch
        {
            "" => "Warn",
            "Strict" or "Warn" or "Ignore" => v,
            _ => throw ApiError.BadRequest($"fieldValidation must be one of Ignore, Warn or Strict, got \"{v}\""),
        };
    }

    static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789"; // apimachinery's utilrand alphabet
        var chars = new char[5];
        for (int i = 0; i < chars.Length; i++) chars[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        return new string(chars);
    }

    /// <summary>Sets the server-owned metadata of a new object (https://kubernetes.io/docs/reference/using-api/api-concepts/, ObjectMeta).</summary>
    internal static void PrepareCreate(ResourceType t, JsonObject o, string? ns, string name)
    {
        var m = Meta.Metadata(o);
        m["name"] = name;
        if (t.Namespaced) m["namespace"] = ns; else m.Remove("namespace");
        m["uid"] = Guid.NewGuid().ToString();
        m["creationTimestamp"] = Meta.Now();
        m.Remove("resourceVersion");
        m.Remove("deletionTimestamp");
        m.Remove("deletionGracePeriodSeconds");
        m.Remove("selfLink");
        if (t.IsCustom) m["generation"] = 1; else m.Remove("generation");
    }

    void CheckTypeMeta(ResourceType t, JsonObject o)
    {
        var apiVersion = Meta.Str(o["apiVersion"]);
        var kind = Meta.Str(o["kind"]);
        if (apiVersion is null) o["apiVersion"] = t.ApiVersion;
        else if (apiVersion != t.ApiVersion && !(t.IsCustom && apiVersion.StartsWith(t.Group + "/", StringComparison.Ordinal) && api.Registry.Find(t.Group, apiVersion[(t.Group.Length + 1)..], t.Plural) is not null))
            throw ApiError.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({t.ApiVersion})");
        if (kind is null) o["kind"] = t.Kind;
        else if (kind != t.Kind)
            throw ApiError.BadRequest($"the kind in the data ({kind}) does not match the expected kind ({t.Kind})");
        o["apiVersion"] = t.ApiVersion;
    }

    /// <summary>Prunes, defaults and validates against the CRD schema; handles unknown fields per fieldValidation.</summary>
    void Validate(HttpContext ctx, ResourceType t, JsonObject o, string name)
    {
        var errors = new List<FieldError>();
        if (SchemaValidator.ValidateName(name) is { } nameError && t.Plural != "events") errors.Add(nameError);
        else if (t.Group == "" && t.Plural == "namespaces" && (name.Length > 63 || name.Contains('.', StringComparison.Ordinal)))
            errors.Add(new FieldError("FieldValueInvalid", "metadata.name", $"Invalid value: {JsonSerializer.Serialize(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"));
        errors.AddRange(SchemaValidator.ValidateLabels(Meta.Labels(o)));
        var result = SchemaValidator.Run(o, t.Schema);
        errors.AddRange(result.Errors);
        if (result.UnknownFields.Count > 0)
        {
            switch (FieldValidation(ctx.Request.Query))
            {
                case "Strict":
                    throw ApiError.BadRequest($"{t.Kind} in version \"{t.Version}\" cannot be handled as a {t.Kind}: strict decoding error: " +
                        string.Join(", ", result.UnknownFields.Select(f => $"unknown field \"{f}\"")));
                case "Warn":
                    foreach (var f in result.UnknownFields)
                        ctx.Response.Headers.Append("Warning", $"299 - \"unknown field \\\"{f}\\\"\"");
                    break;
            }
        }
        if (errors.Count > 0) throw ApiError.Invalid(t.Kind, t.Group, name, errors);
    }

    async Task AdmitAsync(HttpContext ctx, string op, ResourcePath rp, string name, JsonObject? obj, JsonObject? old)
    {
        foreach (var hook in api.AdmissionHooks)
            await hook.ValidateAsync(new AdmissionRequest(op, rp.Type, rp.Subresource, rp.Namespace, name,
                obj?.DeepClone() as JsonObject, old?.DeepClone() as JsonObject, DryRun(ctx.Request.Query))
            {
                AddWarning = w => ctx.Response.Headers.Append("Warning", $"299 - \"{w.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\""), // RFC 7234 quoted-string
            }, ctx.RequestAborted).ConfigureAwait(false);
    }

    void CheckNamespace(ResourcePath rp)
    {
        if (!rp.Type.Namespaced) return;
        var nsType = api.Registry.Find("", "v1", "namespaces")!;
        var ns = api.Store.Get(nsType.StorageKey, null, rp.Namespace!) ?? throw ApiError.NotFound("namespaces", "", rp.Namespace!);
        if (ns["metadata"]?["deletionTimestamp"] is not null)
            throw ApiError.Forbidden(rp.Type.Plural, rp.Type.Group, "", $"unable to create new content in namespace {rp.Namespace} because it is being terminated");
    }

    // ---------------------------------------------------------------- create

    async Task CreateAsync(HttpContext ctx, ResourcePath rp)
    {
        var incoming = ParseObject(await ReadBodyAsync(ctx).ConfigureAwait(false));
        var created = await CreateObjectAsync(ctx, rp, incoming).ConfigureAwait(false);
        await WriteJson(ctx, 201, Presentation.Present(rp.Type, created)).ConfigureAwait(false);
    }

    internal async Task<JsonObject> CreateObjectAsync(HttpContext? ctx, ResourcePath rp, JsonObject incoming)
    {
        var t = rp.Type;
        CheckTypeMeta(t, incoming);
        var m = Meta.Metadata(incoming);
        var bodyNs = Meta.Str(m["namespace"]);
        if (t.Namespaced && !string.IsNullOrEmpty(bodyNs) && bodyNs != rp.Namespace)
            throw ApiError.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        var name = Meta.Str(m["name"]);
        if (string.IsNullOrEmpty(name))
        {
            var gen = Meta.Str(m["generateName"]);
            if (string.IsNullOrEmpty(gen))
                throw ApiError.Invalid(t.Kind, t.Group, "", [new FieldError("FieldValueRequired", "metadata.name", "Required value: name or generateName is required")]);
            name = gen + RandomSuffix();
        }
        CheckNamespace(rp);
        PrepareCreate(t, incoming, rp.Namespace, name);
        // status is reset on create when the status subresource is enabled
        // (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#status-subresource)
        if (t.HasStatusSubresource && t.IsCustom) incoming.Remove("status");
        if (ctx is not null) Validate(ctx, t, incoming, name); else ValidateNoContext(t, incoming, name);
        BuiltInCreate(t, incoming);
        var stored = Presentation.ToStorage(t, incoming);
        if (ctx is not null) await AdmitAsync(ctx, "CREATE", rp, name, incoming, null).ConfigureAwait(false);
        if (ctx is not null && DryRun(ctx.Request.Query)) return stored;
        var result = api.Store.Create(t, rp.Namespace, name, stored);
        AfterWrite(t, result);
        return result;
    }

    static void ValidateNoContext(ResourceType t, JsonObject o, string name)
    {
        var result = SchemaValidator.Run(o, t.Schema);
        if (result.Errors.Count > 0) throw ApiError.Invalid(t.Kind, t.Group, name, [.. result.Errors]);
    }

    /// <summary>Type-specific defaults of built-in types and CRD registration.</summary>
    void BuiltInCreate(ResourceType t, JsonObject o)
    {
        switch (t.Group, t.Plural)
        {
            case ("", "namespaces"):
                if (o["spec"] is not JsonObject nsSpec) o["spec"] = nsSpec = new JsonObject();
                nsSpec["finalizers"] ??= new JsonArray("kubernetes");
                o["status"] = new JsonObject { ["phase"] = "Active" };
                break;
            case ("", "secrets"):
                NormalizeSecret(o);
                break;
            case ("apiextensions.k8s.io", "customresourcedefinitions"):
                PrepareCrd(o);
                break;
        }
    }

    static void NormalizeSecret(JsonObject o)
    {
        // stringData is write-only: merged into data (base64) and dropped
        if (o["stringData"] is JsonObject sd)
        {
            var data = o["data"] as JsonObject ?? new JsonObject();
            foreach (var (k, v) in sd) data[k] = Convert.ToBase64String(Encoding.UTF8.GetBytes(Meta.Str(v) ?? ""));
            o["data"] = data;
            o.Remove("stringData");
        }
        if (Meta.Str(o["type"]) is null) o["type"] = "Opaque";
    }

    /// <summary>Checks a CRD the way apiextensions validation does for what we rely on, and sets its conditions.</summary>
    void PrepareCrd(JsonObject crd)
    {
        var name = Meta.Name(crd);
        var spec = crd["spec"] as JsonObject;
        var errors = new List<FieldError>();
        var group = Meta.Str(spec?["group"]) ?? "";
        var plural = Meta.Str(spec?["names"]?["plural"]) ?? "";
        if (string.IsNullOrEmpty(group)) errors.Add(new FieldError("FieldValueRequired", "spec.group", "Required value"));
        if (string.IsNullOrEmpty(plural)) errors.Add(new FieldError("FieldValueRequired", "spec.names.plural", "Required value"));
        if (string.IsNullOrEmpty(Meta.Str(spec?["names"]?["kind"]))) errors.Add(new FieldError("FieldValueRequired", "spec.names.kind", "Required value"));
        if (spec?["versions"] is not JsonArray { Count: > 0 } versions)
            errors.Add(new FieldError("FieldValueRequired", "spec.versions", "Required value: must have exactly one version marked as storage version"));
        else
        {
            var storage = versions.OfType<JsonObject>().Count(v => Meta.IsTrue(v["storage"]));
            if (storage != 1)
                errors.Add(new FieldError("FieldValueInvalid", "spec.versions", $"Invalid value: {versions.ToJsonString()}: must have exactly one version marked as storage version"));
        }
        if (errors.Count == 0 && name != $"{plural}.{group}")
            errors.Add(new FieldError("FieldValueInvalid", "metadata.name", $"Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"));
        if (errors.Count > 0) throw ApiError.Invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, errors);
        var now = Meta.Now();
        var names = spec!["names"]!.DeepClone() as JsonObject ?? new JsonObject();
        if (names["singular"] is null) names["singular"] = (Meta.Str(names["kind"]) ?? "").ToLowerInvariant();
        if (names["listKind"] is null) names["listKind"] = Meta.Str(names["kind"]) + "List";
        spec["names"] = names.DeepClone();
        crd["status"] = new JsonObject
        {
            ["acceptedNames"] = names,
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "NamesAccepted", ["status"] = "True", ["reason"] = "NoConflicts", ["message"] = "no conflicts found", ["lastTransitionTime"] = now },
                new JsonObject { ["type"] = "Established", ["status"] = "True", ["reason"] = "InitialNamesAccepted", ["message"] = "the initial names have been accepted", ["lastTransitionTime"] = now }),
            ["storedVersions"] = new JsonArray(((JsonArray)spec["versions"]!).OfType<JsonObject>().Where(v => Meta.IsTrue(v["storage"])).Select(v => (JsonNode?)JsonValue.Create(Meta.Str(v["name"]))).ToArray()),
        };
        foreach (var v in ((JsonArray)spec["versions"]!).OfType<JsonObject>())
        {
            // the CRD's schema must be structural; we only check that every version with a schema has a type at the root
            if (v["schema"]?["openAPIV3Schema"] is JsonObject s && Meta.Str(s["type"]) is not "object")
                throw ApiError.Invalid("CustomResourceDefinition", "apiextensions.k8s.io", name,
                    [new FieldError("FieldValueInvalid", $"spec.versions[{Meta.Str(v["name"])}].schema.openAPIV3Schema.type", "Invalid value: \"\": must be object at the root")]);
        }
    }

    /// <summary>Side effects of a stored write: CRDs become served resources.</summary>
    void AfterWrite(ResourceType t, JsonObject stored)
    {
        if (t.Group == "apiextensions.k8s.io" && t.Plural == "customresourcedefinitions")
            api.Registry.RegisterCrd(stored);
    }

    /// <summary>Creates or replaces a CRD without HTTP (used at start from a folder).</summary>
    internal async Task<JsonObject> ApplyDirectAsync(JsonObject crd, CancellationToken ct)
    {
        var t = api.Registry.Find("apiextensions.k8s.io", "v1", "customresourcedefinitions")!;
        var rp = new ResourcePath(t, null, null, null);
        var existing = api.Store.Get(t.StorageKey, null, Meta.Name(crd));
        if (existing is null) return await CreateObjectAsync(null, rp, (JsonObject)crd.DeepClone()).ConfigureAwait(false);
        var next = (JsonObject)crd.DeepClone();
        CheckTypeMeta(t, next);
        CarryServerMetadata(next, existing);
        PrepareCrd(next);
        var result = api.Store.Update(t, null, Meta.Name(crd), Meta.ResourceVersion(existing), next);
        AfterWrite(t, result);
        ct.ThrowIfCancellationRequested();
        return result;
    }

    static void CarryServerMetadata(JsonObject next, JsonObject current)
    {
        var m = Meta.Metadata(next);
        var cm = Meta.Metadata(current);
        foreach (var k in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace", "name" })
        {
            if (cm[k] is { } v) m[k] = v.DeepClone(); else m.Remove(k);
        }
        m.Remove("selfLink");
    }

    // ---------------------------------------------------------------- update, patch

    async Task UpdateAsync(HttpContext ctx, ResourcePath rp)
    {
        var incoming = ParseObject(await ReadBodyAsync(ctx).ConfigureAwait(false));
        var t = rp.Type;
        CheckTypeMeta(t, incoming);
        var bodyName = Meta.Name(incoming);
        if (!string.IsNullOrEmpty(bodyName) && bodyName != rp.Name)
            throw ApiError.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({rp.Name})");
        var bodyNs = Meta.Namespace(incoming);
        if (t.Namespaced && !string.IsNullOrEmpty(bodyNs) && bodyNs != rp.Namespace)
            throw ApiError.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        var current = api.Store.Get(t.StorageKey, rp.Namespace, rp.Name!) ?? throw ApiError.NotFound(t.Plural, t.Group, rp.Name!);
        var rv = Meta.ResourceVersion(incoming);
        if (string.IsNullOrEmpty(rv))
        {
            // custom resources refuse unconditional updates (customresource strategy AllowUnconditionalUpdate() == false)
            if (t.IsCustom)
                throw ApiError.Invalid(t.Kind, t.Group, rp.Name!, [new FieldError("FieldValueInvalid", "metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")]);
            rv = Meta.ResourceVersion(current);
        }
        else if (rv != Meta.ResourceVersion(current)) throw ApiError.StaleConflict(t.Plural, t.Group, rp.Name!);
        var result = await CommitUpdateAsync(ctx, rp, current, Presentation.ToStorage(t, incoming), rv).ConfigureAwait(false);
        await WriteJson(ctx, 200, Presentation.Present(t, result)).ConfigureAwait(false);
    }

    /// <summary>
    /// The common update path of PUT and PATCH: main endpoint ignores status, /status changes only status,
    /// metadata.generation bumps when anything but metadata and status changes, a no-op write stores nothing,
    /// and removing the last finalizer of an object being deleted deletes it.
    /// </summary>
    async Task<JsonObject> CommitUpdateAsync(HttpContext ctx, ResourcePath rp, JsonObject current, JsonObject incoming, string expectedRv)
    {
        var t = rp.Type;
        var name = rp.Name!;
        JsonObject next;
        if (rp.Subresource == "status")
        {
            next = (JsonObject)current.DeepClone();
            if (incoming["status"] is { } st) next["status"] = st.DeepClone(); else next.Remove("status");
        }
        else
        {
            next = (JsonObject)incoming.DeepClone();
            CarryServerMetadata(next, current);
            if (t.HasStatusSubresource)
            {
                if (current["status"] is { } st) next["status"] = st.DeepClone(); else next.Remove("status");
            }
        }
        Meta.Metadata(next)["resourceVersion"] = Meta.ResourceVersion(current);
        Validate(ctx, t, next, name);
        if (t.Plural == "secrets" && t.Group == "") NormalizeSecret(next);
        if (t.Plural == "customresourcedefinitions") { PrepareCrd(next); if (current["status"] is { } cs && rp.Subresource == "status") next["status"] = cs.DeepClone(); }

        // no new finalizers once deletion started (ObjectMeta validation)
        if (current["metadata"]?["deletionTimestamp"] is not null)
        {
            var added = Meta.Finalizers(next).Except(Meta.Finalizers(current)).ToList();
            if (added.Count > 0)
                throw ApiError.Invalid(t.Kind, t.Group, name, [new FieldError("FieldValueForbidden", "metadata.finalizers",
                    $"Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{string.Join(", ", added.Select(a => JsonSerializer.Serialize(a)))}}}")]);
        }

        if (Meta.Metadata(current)["generation"] is JsonValue gen && rp.Subresource != "status")
        {
            var g = Meta.AsLong(gen);
            // with the status subresource, status changes do not count; without it, status is part of the desired state
            if (!JsonNode.DeepEquals(GenerationRelevant(current, t.HasStatusSubresource), GenerationRelevant(next, t.HasStatusSubresource))) g++;
            Meta.Metadata(next)["generation"] = g;
        }

        if (JsonNode.DeepEquals(next, current)) return current; // no-op: nothing written, resourceVersion unchanged

        await AdmitAsync(ctx, "UPDATE", rp, name, next, current).ConfigureAwait(false);
        if (DryRun(ctx.Request.Query)) return next;

        if (current["metadata"]?["deletionTimestamp"] is not null && Meta.Finalizers(next).Count == 0)
        {
            var gone = api.Store.Delete(t, rp.Namespace, name, expectedRv);
            AfterDelete(t, gone);
            return gone;
        }
        var result = api.Store.Update(t, rp.Namespace, name, expectedRv, next);
        AfterWrite(t, result);
        return result;
    }

    static JsonObject GenerationRelevant(JsonObject o, bool statusSubresource)
    {
        var c = (JsonObject)o.DeepClone();
        c.Remove("metadata");
        if (statusSubresource) c.Remove("status");
        c.Remove("apiVersion");
        return c;
    }

    async Task PatchAsync(HttpContext ctx, ResourcePath rp)
    {
        var t = rp.Type;
        var contentType = (ctx.Request.ContentType ?? "").Split(';')[0].Trim();
        var body = await ReadBodyAsync(ctx).ConfigureAwait(false);
        var q = ctx.Request.Query;
        bool apply = contentType == "application/apply-patch+yaml";
        if (contentType is not ("application/json-patch+json" or "application/merge-patch+json" or "application/strategic-merge-patch+json" or "application/apply-patch+yaml"))
            throw ApiError.UnsupportedMediaType($"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml{(t.IsCustom ? "" : ", application/strategic-merge-patch+json")}");
        if (contentType == "application/strategic-merge-patch+json" && t.IsCustom)
            // custom resources do not support strategic merge patch (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#advanced-topics)
            throw ApiError.UnsupportedMediaType("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
        if (apply && string.IsNullOrEmpty(q["fieldManager"]))
            throw ApiError.Invalid("PatchOptions", "meta.k8s.io", "", [new FieldError("FieldValueRequired", "fieldManager", "Required value: is required for apply patch")]);

        var patchNode = contentType == "application/json-patch+json" ? JsonNode.Parse(body) : Yaml.ParseBody(body);
        for (int attempt = 0; ; attempt++)
        {
            var current = api.Store.Get(t.StorageKey, rp.Namespace, rp.Name!);
            if (current is null)
            {
                if (apply && rp.Subresource is null)
                {
                    // server-side apply creates a missing object (https://kubernetes.io/docs/reference/using-api/server-side-apply/)
                    var obj = patchNode as JsonObject ?? throw ApiError.BadRequest("apply patch must be an object");
                    var created = await CreateObjectAsync(ctx, rp with { Name = null }, (JsonObject)obj.DeepClone()).ConfigureAwait(false);
                    await WriteJson(ctx, 201, Presentation.Present(t, created)).ConfigureAwait(false);
                    return;
                }
                throw ApiError.NotFound(t.Plural, t.Group, rp.Name!);
            }
            var presented = Presentation.Present(t, current);
            JsonNode? patched = contentType switch
            {
                "application/json-patch+json" => Patches.ApplyJsonPatch(presented, patchNode as JsonArray ?? throw ApiError.BadRequest("json patch must be an array of operations")),
                "application/merge-patch+json" => Patches.MergePatch(presented, patchNode),
                "application/strategic-merge-patch+json" => Patches.StrategicMergePatch(presented, patchNode),
                _ => Patches.MergePatch(presented, StripNulls(patchNode)),
            };
            if (patched is not JsonObject next) throw ApiError.BadRequest("the patch does not produce an object");
            CheckTypeMeta(t, next);
            if (Meta.Name(next) != rp.Name) throw ApiError.BadRequest($"the name of the object ({Meta.Name(next)}) does not match the name on the URL ({rp.Name})");
            var patchRv = Meta.Str((patchNode as JsonObject)?["metadata"]?["resourceVersion"]);
            if (!string.IsNullOrEmpty(patchRv) && patchRv != Meta.ResourceVersion(current))
                throw ApiError.StaleConflict(t.Plural, t.Group, rp.Name!); // a patch that names a resourceVersion is a precondition
            try
            {
                var result = await CommitUpdateAsync(ctx, rp, current, Presentation.ToStorage(t, next), Meta.ResourceVersion(current)).ConfigureAwait(false);
                await WriteJson(ctx, 200, Presentation.Present(t, result)).ConfigureAwait(false);
                return;
            }
            catch (ApiError e) when (e.Code == 409 && e.Reason == "Conflict" && string.IsNullOrEmpty(patchRv) && attempt < 100)
            {
                // the server re-applies a patch to the latest version when a concurrent write raced it (GuaranteedUpdate)
            }
        }
    }

    static JsonNode? StripNulls(JsonNode? n)
    {
        if (n is not JsonObject o) return n?.DeepClone();
        var c = new JsonObject();
        foreach (var (k, v) in o) if (v is not null) c[k] = StripNulls(v);
        return c;
    }

    // ---------------------------------------------------------------- delete

    async Task DeleteAsync(HttpContext ctx, ResourcePath rp)
    {
        var body = await ReadBodyAsync(ctx).ConfigureAwait(false);
        var options = string.IsNullOrWhiteSpace(body) ? new JsonObject() : ParseObject(body);
        var result = await DeleteObjectAsync(ctx, rp, options).ConfigureAwait(false);
        await WriteJson(ctx, 200, Presentation.Present(rp.Type, result)).ConfigureAwait(false);
    }

    /// <summary>
    /// Delete: with finalizers, only deletionTimestamp is set (https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/);
    /// otherwise the object goes at once. Preconditions (uid, resourceVersion) give 409 Conflict.
    /// </summary>
    async Task<JsonObject> DeleteObjectAsync(HttpContext ctx, ResourcePath rp, JsonObject options)
    {
        var t = rp.Type;
        var name = rp.Name!;
        var current = api.Store.Get(t.StorageKey, rp.Namespace, name) ?? throw ApiError.NotFound(t.Plural, t.Group, name);
        var pre = options["preconditions"] as JsonObject;
        if (Meta.Str(pre?["uid"]) is { } uid && uid != Meta.Str(current["metadata"]?["uid"]))
            throw ApiError.Conflict(t.Plural, t.Group, name, $"Precondition failed: UID in precondition: {uid}, UID in object meta: {Meta.Str(current["metadata"]?["uid"])}");
        if (Meta.Str(pre?["resourceVersion"]) is { } prv && prv != Meta.ResourceVersion(current))
            throw ApiError.Conflict(t.Plural, t.Group, name, $"Precondition failed: ResourceVersion in precondition: {prv}, ResourceVersion in object meta: {Meta.ResourceVersion(current)}");

        await AdmitAsync(ctx, "DELETE", rp, name, null, current).ConfigureAwait(false);
        if (DryRun(ctx.Request.Query) || options["dryRun"] is JsonArray { Count: > 0 }) return current;

        if (t.Group == "" && t.Plural == "namespaces")
        {
            // the NamespaceLifecycle admission plugin protects the system namespaces
            if (name is "default" or "kube-system" or "kube-public")
                throw ApiError.Forbidden("namespaces", "", name, "this namespace may not be deleted");
            return DeleteNamespace(current);
        }

        if (Meta.Finalizers(current).Count > 0)
        {
            if (current["metadata"]?["deletionTimestamp"] is not null) return current; // already being deleted
            var marked = (JsonObject)current.DeepClone();
            var m = Meta.Metadata(marked);
            m["deletionTimestamp"] = Meta.Now();
            m["deletionGracePeriodSeconds"] = 0;
            return api.Store.Update(t, rp.Namespace, name, Meta.ResourceVersion(current), marked);
        }
        var gone = api.Store.Delete(t, rp.Namespace, name, Meta.ResourceVersion(current));
        AfterDelete(t, gone);
        return gone;
    }

    /// <summary>Namespace deletion: marked Terminating, its content deleted, gone when empty (namespace lifecycle controller).</summary>
    JsonObject DeleteNamespace(JsonObject ns)
    {
        var t = api.Registry.Find("", "v1", "namespaces")!;
        var name = Meta.Name(ns);
        var marked = (JsonObject)ns.DeepClone();
        if (marked["metadata"]?["deletionTimestamp"] is null)
        {
            Meta.Metadata(marked)["deletionTimestamp"] = Meta.Now();
            Meta.Metadata(marked)["deletionGracePeriodSeconds"] = 0;
            marked["status"] = new JsonObject { ["phase"] = "Terminating" };
            marked = api.Store.Update(t, null, name, Meta.ResourceVersion(ns), marked);
        }
        foreach (var rt in api.Registry.All.Where(r => r.Namespaced).DistinctBy(r => r.StorageKey))
        {
            foreach (var o in api.Store.List(rt.StorageKey, name).Items)
            {
                if (Meta.Finalizers(o).Count > 0)
                {
                    if (o["metadata"]?["deletionTimestamp"] is not null) continue;
                    var m = (JsonObject)o.DeepClone();
                    Meta.Metadata(m)["deletionTimestamp"] = Meta.Now();
                    Meta.Metadata(m)["deletionGracePeriodSeconds"] = 0;
                    try { api.Store.Update(rt, name, Meta.Name(o), Meta.ResourceVersion(o), m); } catch (ApiError) { /* raced: the next pass sees it */ }
                }
                else
                {
                    try { api.Store.Delete(rt, name, Meta.Name(o), null); } catch (ApiError) { /* already gone */ }
                }
            }
        }
        return FinalizeNamespaceIfEmpty(name) ?? marked;
    }

    JsonObject? FinalizeNamespaceIfEmpty(string name)
    {
        var t = api.Registry.Find("", "v1", "namespaces")!;
        var ns = api.Store.Get(t.StorageKey, null, name);
        if (ns?["metadata"]?["deletionTimestamp"] is null || api.Store.AnyInNamespace(name)) return null;
        try { return api.Store.Delete(t, null, name, null); } catch (ApiError) { return null; }
    }

    void AfterDelete(ResourceType t, JsonObject gone)
    {
        if (t.Group == "apiextensions.k8s.io" && t.Plural == "customresourcedefinitions")
        {
            // the CRD's objects go with it (the real server's customresourcecleanup finalizer, simplified: finalizers of the objects are not waited for)
            var name = Meta.Name(gone);
            foreach (var rt in api.Registry.All.Where(r => r.IsCustom && $"{r.Plural}.{r.Group}" == name).DistinctBy(r => r.StorageKey))
                foreach (var o in api.Store.List(rt.StorageKey, null).Items)
                    try { api.Store.Delete(rt, Meta.Namespace(o), Meta.Name(o), null); } catch (ApiError) { /* already gone */ }
            api.Registry.UnregisterCrd(name);
        }
        if (Meta.Namespace(gone) is { } ns) FinalizeNamespaceIfEmpty(ns);
    }

    async Task DeleteCollectionAsync(HttpContext ctx, ResourcePath rp)
    {
        var t = rp.Type;
        var filter = Filter(rp, ctx.Request.Query);
        var deleted = new JsonArray();
        foreach (var o in api.Store.List(t.StorageKey, rp.Namespace).Items.Where(filter))
        {
            try
            {
                var r = await DeleteObjectAsync(ctx, rp with { Name = Meta.Name(o), Namespace = Meta.Namespace(o) }, new JsonObject()).ConfigureAwait(false);
                deleted.Add(Presentation.Present(t, r));
            }
            catch (ApiError e) when (e.Code == 404) { /* raced */ }
        }
        await WriteJson(ctx, 200, new JsonObject
        {
            ["apiVersion"] = t.ApiVersion,
            ["kind"] = t.ListKind,
            ["metadata"] = new JsonObject { ["resourceVersion"] = api.Store.CurrentRv.ToString(CultureInfo.InvariantCulture) },
            ["items"] = deleted,
        }).ConfigureAwait(false);
    }
}
