using System.Net.Http.Headers;
using k8s;

namespace KubeStack.Runtime.Api;

/// <summary>
/// Raw HTTP through the official client's transport (its TLS settings, client certificate and credentials), for the
/// calls the generated API does not fit: streaming watches whose ERROR events we must see ourselves.
/// </summary>
public sealed class KubeHttp
{
    private readonly Kubernetes _client;

    public KubeHttp(Kubernetes client)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
    }

    /// <summary>
    /// Sends a request to <paramref name="relativeUri"/> (path and query, no leading slash) and returns the response
    /// as soon as its headers arrive. The caller disposes the response.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string relativeUri, HttpContent? content,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(_client.BaseUri, relativeUri)) { Content = content };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_client.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(request, cancellationToken).ConfigureAwait(false);
        }

        return await _client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Throws <see cref="KubeApiException"/> (and disposes the response) when it is not a success.</summary>
    public static async Task EnsureSuccessAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw KubeApiException.FromResponse(response.StatusCode, body, operation);
        }
    }
}
