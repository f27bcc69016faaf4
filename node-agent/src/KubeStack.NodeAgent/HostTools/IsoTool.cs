namespace KubeStack.NodeAgent.HostTools;

/// <summary>
/// Typed wrapper over <c>xorriso</c> in mkisofs emulation (argument arrays only): builds ISO 9660 images with Joliet and
/// Rock Ridge names, e.g. cloud-init NoCloud seeds (volume id <c>cidata</c>). Paths starting with '-' are refused.
/// </summary>
public sealed class IsoTool(IHostToolRunner runner, string executable = "xorriso")
{
    public static IsoTool Default { get; } = new(HostToolRunner.Default);

    /// <summary><c>xorriso -as mkisofs -quiet -output output -volid volumeId -joliet -rock sourceDirectory</c>.</summary>
    public async Task CreateAsync(string output, string volumeId, string sourceDirectory, CancellationToken cancellationToken = default)
    {
        Check(output, nameof(output));
        Check(sourceDirectory, nameof(sourceDirectory));
        if (string.IsNullOrEmpty(volumeId) || volumeId.Length > 32 || volumeId.StartsWith('-'))
        {
            throw new ArgumentException($"volume id '{volumeId}' must be 1-32 characters and must not start with '-'", nameof(volumeId));
        }

        ArgumentNullException.ThrowIfNull(runner);
        await runner.RunAsync(executable, ["-as", "mkisofs", "-quiet", "-output", output, "-volid", volumeId, "-joliet", "-rock", sourceDirectory],
            cancellationToken).ConfigureAwait(false);
    }

    private static void Check(string path, string name)
    {
        if (string.IsNullOrEmpty(path) || path.StartsWith('-'))
        {
            throw new ArgumentException($"path '{path}' must be non-empty and must not start with '-'", name);
        }
    }
}
