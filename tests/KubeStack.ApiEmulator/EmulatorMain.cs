using System.Globalization;

namespace KubeStack.ApiEmulator;

/// <summary>The standalone process (see Program.cs).</summary>
public static class EmulatorMain
{
    public static async Task<int> RunAsync(string[] args)
    {
        int port = 0;
        string? kubeconfig = null, crds = null;
        bool logRequests = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--port": port = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--kubeconfig": kubeconfig = Next(); break;
                case "--crds": crds = Next(); break;
                case "--log-requests": logRequests = true; break;
                case "-h" or "--help":
                    await Console.Out.WriteLineAsync("usage: KubeStack.ApiEmulator [--port N] [--kubeconfig PATH] [--crds DIR] [--log-requests]").ConfigureAwait(false);
                    return 0;
                default:
                    await Console.Error.WriteLineAsync($"unknown argument {args[i]}; see --help").ConfigureAwait(false);
                    return 2;
            }
        }

        var options = new EmulatorOptions { Port = port, RequestLog = logRequests ? line => Console.Out.WriteLine(line) : null };
        await using var api = await ApiEmulator.StartAsync(options).ConfigureAwait(false);
        if (crds is not null)
        {
            if (!Directory.Exists(crds))
            {
                await Console.Error.WriteLineAsync($"--crds {crds}: no such directory").ConfigureAwait(false);
                return 2;
            }
            var n = await api.RegisterCrdsFromFolderAsync(crds).ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"registered {n} CRDs from {crds}").ConfigureAwait(false);
        }
        if (kubeconfig is not null)
        {
            api.WriteKubeconfig(kubeconfig);
            await Console.Out.WriteLineAsync($"kubeconfig written to {kubeconfig}").ConfigureAwait(false);
        }
        await Console.Out.WriteLineAsync($"listening on {api.BaseUrl}").ConfigureAwait(false);
        await Console.Out.FlushAsync().ConfigureAwait(false);

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        using var intr = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
        await stop.Task.ConfigureAwait(false);
        await Console.Out.WriteLineAsync("stopping").ConfigureAwait(false);
        return 0;
    }
}
