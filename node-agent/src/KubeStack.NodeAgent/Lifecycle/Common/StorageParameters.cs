using System.Text.Json;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Validation;

namespace KubeStack.NodeAgent.Lifecycle.Common;

/// <summary>A parameter of a request that the agent cannot use (the operator validates too; this is the backstop).</summary>
public sealed class RequestParameterException(string parameter, string message) : Exception(message)
{
    public string Parameter { get; } = parameter;
}

/// <summary>
/// Typed readings of a request's parameters for the storage handlers. Parameters keep the catalog's JSON types, but
/// clients send most values as strings ("true", "10,737,418,240"), so both spellings are read.
/// </summary>
public static class StorageParameters
{
    /// <summary>A required string parameter.</summary>
    public static string Required(JsonObject parameters, string key, string operation) =>
        Optional(parameters, key) ?? throw new RequestParameterException(key,
            $"{operation}.{key} is required and missing.");

    /// <summary>
    /// A required path parameter resolved with <see cref="SafePath"/> (every symbolic link followed, inside the allowed
    /// roots); a refused path fails the request naming the parameter.
    /// </summary>
    public static string RequiredPath(JsonObject parameters, string key, string operation, IReadOnlyList<string>? roots = null) =>
        ResolvePath(Required(parameters, key, operation), key, operation, roots);

    /// <summary><see cref="SafePath.Resolve"/> of a user path; a refusal is a <see cref="RequestParameterException"/> naming <paramref name="key"/>.</summary>
    public static string ResolvePath(string path, string key, string operation, IReadOnlyList<string>? roots = null)
    {
        try
        {
            return SafePath.Resolve(path, roots);
        }
        catch (UnsafePathException ex)
        {
            throw new RequestParameterException(key, $"{operation}.{key} is refused: {ex.Message} Use a path inside the allowed directories.");
        }
    }

    /// <summary>A string parameter, or null when absent or empty.</summary>
    public static string? Optional(JsonObject parameters, string key)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return parameters[key] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>() is { Length: > 0 } s ? s.Trim() : null,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number => v.ToJsonString(),
            var other => throw new RequestParameterException(key, $"{key} must be a string, not a {other.GetValueKind()}."),
        };
    }

    /// <summary>A boolean parameter given as JSON true/false or the strings "true"/"false" (any case).</summary>
    public static bool? Flag(JsonObject parameters, string key, string operation)
    {
        var text = Optional(parameters, key);
        if (text is null)
        {
            return null;
        }

        try
        {
            return ParameterValues.ParseFlag(text);
        }
        catch (FormatException)
        {
            throw new RequestParameterException(key, $"{operation}.{key} must be true or false, not '{text}'.");
        }
    }

    /// <summary>A byte count (digits, optionally with thousands separators) within [min, max].</summary>
    public static long Bytes(JsonObject parameters, string key, string operation, long min, long max)
    {
        var text = Required(parameters, key, operation);
        if (!ParameterValues.TryParseInteger(text, out var value))
        {
            throw new RequestParameterException(key, $"{operation}.{key} must be a number of bytes (digits, e.g. 10737418240), not '{text}'.");
        }

        if (value < min || value > max)
        {
            throw new RequestParameterException(key, $"{operation}.{key} must be from {min} to {max} bytes, not {value}.");
        }

        return value;
    }
}
