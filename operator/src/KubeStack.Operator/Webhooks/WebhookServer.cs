using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KubeStack.Operator.Webhooks;

/// <summary>
/// The HTTPS endpoint kube-apiserver calls: <c>POST /validate</c> (AdmissionReview v1 in and out), and
/// <c>GET /healthz</c>. The certificate is taken from <see cref="ICertificateSource"/> on every handshake.
/// </summary>
public sealed class WebhookServer : IAsyncDisposable
{
    public const string ValidatePath = "/validate";

    private readonly WebApplication _app;

    private WebhookServer(WebApplication app) => _app = app;

    /// <summary>The first address Kestrel listens on (https://127.0.0.1:port when bound to loopback).</summary>
    public Uri Address => new(_app.Urls.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));

    public int Port => Address.Port;

    /// <summary>Starts the server on <paramref name="address"/>:<paramref name="port"/> (0 = any free port).</summary>
    public static async Task<WebhookServer> StartAsync(AdmissionHandler handler, ICertificateSource certificates, IPAddress address, int port,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(certificates);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(k => k.Listen(address, port, listen => listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, _) => certificates.Current(),
        })));
        var app = builder.Build();
        var logger = loggerFactory.CreateLogger<WebhookServer>();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapPost(ValidatePath, async (HttpContext context) =>
        {
            JsonObject review;
            try
            {
                review = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false))?.AsObject()
                         ?? throw new InvalidOperationException("empty body");
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException)
            {
                return Results.BadRequest(new { message = $"The body is not an AdmissionReview JSON object: {ex.Message}" });
            }

            try
            {
                var answer = await handler.ReviewAsync(review, context.RequestAborted).ConfigureAwait(false);
                return Results.Text(answer.ToJsonString(), "application/json");
            }
            catch (ArgumentException ex)
            {
                return Results.BadRequest(new { message = ex.Message });
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The API server applies the webhook's failurePolicy to a 500.
                logger.LogError(ex, "Admission review failed.");
                return Results.Problem(ex.Message, statusCode: 500);
            }
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new WebhookServer(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
