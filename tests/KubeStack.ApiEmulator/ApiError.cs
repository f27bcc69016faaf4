using System.Text.Json.Nodes;

namespace KubeStack.ApiEmulator;

/// <summary>One field error, shaped like k8s.io/apimachinery/pkg/util/validation/field.Error.</summary>
/// <param name="Reason">The StatusCause reason: FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, FieldValueTooLong, FieldValueTooMany, FieldValueTypeInvalid, FieldValueForbidden.</param>
/// <param name="Field">The JSON path of the field, e.g. spec.lifecycle.createDisk.capacity.</param>
/// <param name="Detail">The cause message without the field prefix, e.g. Invalid value: "10": ... should match '^[0-9]+$'.</param>
public sealed record FieldError(string Reason, string Field, string Detail)
{
    public override string ToString() => $"{Field}: {Detail}";
}

/// <summary>
/// An API error answered as a metav1.Status object, as kube-apiserver does for every failure
/// (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#response-status-kind).
/// </summary>
public sealed class ApiError : Exception
{
    public int Code { get; }
    public string Reason { get; }
    public JsonObject? Details { get; }
    public IReadOnlyDictionary<string, string> Headers { get; }

    public ApiError(int code, string reason, string message, JsonObject? details = null, IReadOnlyDictionary<string, string>? headers = null)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Details = details;
        Headers = headers ?? new Dictionary<string, string>();
    }

    public JsonObject ToStatus() => StatusObject(Code, Reason, Message, Details?.DeepClone() as JsonObject);

    public static JsonObject StatusObject(int code, string reason, string message, JsonObject? details = null)
    {
        var s = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = code is >= 200 and < 300 ? "Success" : "Failure",
            ["message"] = message,
            ["reason"] = reason,
        };
        if (details is not null) s["details"] = details;
        s["code"] = code;
        return s;
    }

    static JsonObject Details_(string? name, string group, string kind)
    {
        var d = new JsonObject();
        if (!string.IsNullOrEmpty(name)) d["name"] = name;
        if (!string.IsNullOrEmpty(group)) d["group"] = group;
        d["kind"] = kind;
        return d;
    }

    static string Qualified(string resource, string group) => string.IsNullOrEmpty(group) ? resource : $"{resource}.{group}";

    // Messages below are the ones apimachinery's k8s.io/apimachinery/pkg/api/errors produces.
    public static ApiError NotFound(string resource, string group, string name) =>
        new(404, "NotFound", $"{Qualified(resource, group)} \"{name}\" not found", Details_(name, group, resource));

    public static ApiError AlreadyExists(string resource, string group, string name) =>
        new(409, "AlreadyExists", $"{Qualified(resource, group)} \"{name}\" already exists", Details_(name, group, resource));

    public static ApiError Conflict(string resource, string group, string name, string why) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {Qualified(resource, group)} \"{name}\": {why}", Details_(name, group, resource));

    public static ApiError StaleConflict(string resource, string group, string name) =>
        Conflict(resource, group, name, "the object has been modified; please apply your changes to the latest version and try again");

    public static ApiError BadRequest(string message) => new(400, "BadRequest", message);

    public static ApiError MethodNotAllowed(string message) => new(405, "MethodNotAllowed", message);

    public static ApiError UnsupportedMediaType(string message) => new(415, "UnsupportedMediaType", message);

    public static ApiError Gone(string message) => new(410, "Expired", message);

    public static ApiError Invalid(string kind, string group, string name, IReadOnlyList<FieldError> errors)
    {
        var qualifiedKind = string.IsNullOrEmpty(group) ? kind : $"{kind}.{group}";
        var list = errors.Count == 1 ? errors[0].ToString() : "[" + string.Join(", ", errors.Select(e => e.ToString())) + "]";
        var details = Details_(name, group, kind);
        var causes = new JsonArray();
        foreach (var e in errors)
            causes.Add(new JsonObject { ["reason"] = e.Reason, ["message"] = e.Detail, ["field"] = e.Field });
        details["causes"] = causes;
        return new ApiError(422, "Invalid", $"{qualifiedKind} \"{name}\" is invalid: {list}", details);
    }

    public static ApiError Forbidden(string resource, string group, string name, string why) =>
        new(403, "Forbidden", $"{Qualified(resource, group)} \"{name}\" is forbidden: {why}", Details_(name, group, resource));
}
