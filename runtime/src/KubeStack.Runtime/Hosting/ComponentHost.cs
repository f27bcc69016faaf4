using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Json;

namespace KubeStack.Runtime.Hosting;

/// <summary>What the agent's and the operator's generic hosts share: console logging and the run-with-exit-code frame.</summary>
public static class ComponentHost
{
    /// <summary>Serilog to the console: JSON (for clusters) or readable text (locally); Microsoft and HTTP noise at Warning.</summary>
    public static IServiceCollection AddConsoleLogging(this IServiceCollection services, bool json)
    {
        return services.AddSerilog((_, logging) =>
        {
            logging.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
                .MinimumLevel.Override("System.Net.Http", LogEventLevel.Warning)
                .Enrich.FromLogContext();
            if (json)
            {
                logging.WriteTo.Console(new JsonFormatter(renderMessage: true));
            }
            else
            {
                logging.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
            }
        });
    }

    /// <summary>Builds and runs a host; a configuration error (<see cref="ArgumentException"/>) prints one line and returns 2.</summary>
    public static async Task<int> RunAsync(string component, Func<IHost> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        IHost host;
        try
        {
            host = build();
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"{component}: {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        using (host)
        {
            await host.RunAsync().ConfigureAwait(false);
        }

        return Environment.ExitCode;
    }
}
