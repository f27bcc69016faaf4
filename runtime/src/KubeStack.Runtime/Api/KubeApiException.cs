using System.Net;
using System.Text.Json;
using k8s.Autorest;

namespace KubeStack.Runtime.Api;

/// <summary>
/// An API server answer other than 2xx, with the HTTP status and the server's Status reason and message
/// (e.g. 409 Conflict, 404 NotFound). Classify by <see cref="StatusCode"/>, never by message text.
/// </summary>
public sealed class KubeApiException : Exception
{
    public KubeApiException(HttpStatusCode statusCode, string? reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        Reason = reason;
    }

    public KubeApiException() : this(HttpStatusCode.InternalServerError, null, "The API server returned an error.")
    {
    }

    public KubeApiException(string message) : this(HttpStatusCode.InternalServerError, null, message)
    {
    }

    public KubeApiException(string message, Exception innerException)
        : this(HttpStatusCode.InternalServerError, null, message, innerException)
    {
    }

    public HttpStatusCode StatusCode { get; }

    /// <summary>The Status object's reason (Conflict, NotFound, Expired, ...), when the server sent one.</summary>
    public string? Reason { get; }

    public bool IsConflict => StatusCode == HttpStatusCode.Conflict;
    public bool IsNotFound => StatusCode == HttpStatusCode.NotFound;
    public bool IsGone => StatusCode == HttpStatusCode.Gone;

    /// <summary>Builds the exception from a response body that is (usually) a meta/v1 Status.</summary>
    public static KubeApiException FromResponse(HttpStatusCode statusCode, string? body, string operation, Exception? inner = null)
    {
        string? reason = null;
        string? message = null;
        if (!string.IsNullOrWhiteSpace(body))
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    if (doc.RootElement.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String)
                    {
                        reason = r.GetString();
                    }

                    if (doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                    {
                        message = m.GetString();
                    }
                }
            }
            catch (JsonException)
            {
                message = body.Length > 512 ? body[..512] : body;
            }
        }

        var text = $"{operation} failed with HTTP {(int)statusCode} {statusCode}" +
                   (reason is null ? "" : $" ({reason})") + (message is null ? "." : $": {message}");
        return new KubeApiException(statusCode, reason, text, inner);
    }

    /// <summary>Translates the generated client's exception.</summary>
    public static KubeApiException From(HttpOperationException ex, string operation)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var status = ex.Response?.StatusCode ?? HttpStatusCode.InternalServerError;
        return FromResponse(status, ex.Response?.Content, operation, ex);
    }
}
