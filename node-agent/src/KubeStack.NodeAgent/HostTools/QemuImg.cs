using System.Globalization;
using System.Text.Json;

namespace KubeStack.NodeAgent.HostTools;

/// <summary>
/// Typed wrapper over <c>qemu-img</c> (QEMU 7.2 here): argument arrays only, JSON output parsed into records, any
/// unexpected exit code or unparseable output a <see cref="HostToolException"/>. Paths are passed as given: callers
/// resolve them inside the allowed storage roots first. A path starting with '-' is refused (it would read as an option).
/// Images in use by a running guest need <c>forceShare</c> (<c>-U</c>) for reads; writes on them fail with a lock error.
/// </summary>
public sealed class QemuImg(IHostToolRunner runner, string executable = "qemu-img")
{
    private static readonly HashSet<int> CheckExitCodes = [0, 2, 3];

    public static QemuImg Default { get; } = new(HostToolRunner.Default);

    /// <summary><c>qemu-img info --output=json [-U] [-f format] path</c>.</summary>
    public async Task<QemuImgInfo> InfoAsync(string path, bool forceShare = true, string? format = null, CancellationToken cancellationToken = default)
    {
        var args = InfoArgs(path, forceShare, format, backingChain: false);
        var r = await runner.RunAsync(executable, args, cancellationToken).ConfigureAwait(false);
        return Parse(r, QemuImgJson.ParseInfo);
    }

    /// <summary><c>qemu-img info --output=json --backing-chain</c>: the image first, then each backing file down to the base.</summary>
    public async Task<IReadOnlyList<QemuImgInfo>> InfoBackingChainAsync(string path, bool forceShare = true, CancellationToken cancellationToken = default)
    {
        var args = InfoArgs(path, forceShare, null, backingChain: true);
        var r = await runner.RunAsync(executable, args, cancellationToken).ConfigureAwait(false);
        return Parse(r, QemuImgJson.ParseInfoChain);
    }

    /// <summary><c>qemu-img create -f format [-b backing -F backingFormat] [-o k=v,...] path [size]</c>. With a backing
    /// file the size may be omitted (it is the backing file's). The backing format is mandatory in QEMU 7.</summary>
    public async Task CreateAsync(string path, string format, long? sizeBytes, string? backingFile = null, string? backingFormat = null,
        IReadOnlyDictionary<string, string>? options = null, CancellationToken cancellationToken = default)
    {
        CheckPath(path, nameof(path));
        CheckToken(format, nameof(format));
        var args = new List<string> { "create", "-q", "-f", format };
        if (backingFile is not null)
        {
            CheckPath(backingFile, nameof(backingFile));
            if (backingFormat is null) throw new ArgumentException("backingFormat is required with a backing file (qemu-img 7 refuses to probe it)", nameof(backingFormat));
            CheckToken(backingFormat, nameof(backingFormat));
            args.AddRange(["-b", backingFile, "-F", backingFormat]);
        }
        if (options is { Count: > 0 }) args.AddRange(["-o", FormatOptions(options)]);
        args.Add(path);
        if (sizeBytes is { } size)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(size, nameof(sizeBytes));
            args.Add(size.ToString(CultureInfo.InvariantCulture));
        }
        else if (backingFile is null)
        {
            throw new ArgumentException("sizeBytes is required without a backing file", nameof(sizeBytes));
        }
        await runner.RunAsync(executable, args, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>qemu-img resize [-f format] [--shrink] path size</c> (bytes). Shrinking needs <paramref name="shrink"/>.</summary>
    public async Task ResizeAsync(string path, long sizeBytes, bool shrink = false, string? format = null, CancellationToken cancellationToken = default)
    {
        CheckPath(path, nameof(path));
        ArgumentOutOfRangeException.ThrowIfNegative(sizeBytes);
        var args = new List<string> { "resize", "-q" };
        AddFormat(args, "-f", format);
        if (shrink) args.Add("--shrink");
        args.Add(path);
        args.Add(sizeBytes.ToString(CultureInfo.InvariantCulture));
        await runner.RunAsync(executable, args, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>qemu-img convert [-f sourceFormat] -O outputFormat [-c] [-o k=v,...] source destination</c>.</summary>
    public async Task ConvertAsync(string source, string destination, string outputFormat, string? sourceFormat = null, bool compress = false,
        IReadOnlyDictionary<string, string>? options = null, CancellationToken cancellationToken = default)
    {
        CheckPath(source, nameof(source));
        CheckPath(destination, nameof(destination));
        CheckToken(outputFormat, nameof(outputFormat));
        var args = new List<string> { "convert", "-q" };
        AddFormat(args, "-f", sourceFormat);
        args.AddRange(["-O", outputFormat]);
        if (compress) args.Add("-c");
        if (options is { Count: > 0 }) args.AddRange(["-o", FormatOptions(options)]);
        args.Add(source);
        args.Add(destination);
        await runner.RunAsync(executable, args, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>qemu-img snapshot -c name path</c>: an internal snapshot (qcow2).</summary>
    public Task SnapshotCreateAsync(string path, string name, CancellationToken cancellationToken = default) =>
        SnapshotAsync("-c", path, name, cancellationToken);

    /// <summary><c>qemu-img snapshot -a name path</c>: reverts the image to the snapshot.</summary>
    public Task SnapshotApplyAsync(string path, string name, CancellationToken cancellationToken = default) =>
        SnapshotAsync("-a", path, name, cancellationToken);

    /// <summary><c>qemu-img snapshot -d name path</c>.</summary>
    public Task SnapshotDeleteAsync(string path, string name, CancellationToken cancellationToken = default) =>
        SnapshotAsync("-d", path, name, cancellationToken);

    /// <summary>The image's internal snapshots (from <c>qemu-img info --output=json</c>, which lists them as JSON).</summary>
    public async Task<IReadOnlyList<QemuImgSnapshot>> SnapshotListAsync(string path, bool forceShare = true, CancellationToken cancellationToken = default) =>
        (await InfoAsync(path, forceShare, null, cancellationToken).ConfigureAwait(false)).Snapshots;

    /// <summary><c>qemu-img check --output=json [-f format] path</c>. Exit codes 0 (clean), 2 (corruptions) and 3 (leaks)
    /// return a result; 1 (check failed) and 63 (format cannot be checked, e.g. raw) throw.</summary>
    public async Task<QemuImgCheckResult> CheckAsync(string path, string? format = null, CancellationToken cancellationToken = default)
    {
        CheckPath(path, nameof(path));
        var args = new List<string> { "check", "--output=json" };
        AddFormat(args, "-f", format);
        args.Add(path);
        var r = await runner.RunAsync(executable, args, cancellationToken, CheckExitCodes).ConfigureAwait(false);
        return Parse(r, json => QemuImgJson.ParseCheck(json, r.ExitCode));
    }

    /// <summary><c>qemu-img commit [-f format] path</c>: writes the overlay's data into its backing file.</summary>
    public async Task CommitAsync(string path, string? format = null, CancellationToken cancellationToken = default)
    {
        CheckPath(path, nameof(path));
        var args = new List<string> { "commit", "-q" };
        AddFormat(args, "-f", format);
        args.Add(path);
        await runner.RunAsync(executable, args, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>qemu-img rebase [-f format] -b newBacking -F backingFormat path</c> (safe mode: data that differs
    /// is copied so the guest-visible content stays the same). A null <paramref name="newBackingFile"/> flattens the
    /// image (<c>-b ""</c>). <paramref name="unsafeMode"/> (<c>-u</c>) only rewrites the header.</summary>
    public async Task RebaseAsync(string path, string? newBackingFile, string? backingFormat, bool unsafeMode = false, string? format = null,
        CancellationToken cancellationToken = default)
    {
        CheckPath(path, nameof(path));
        var args = new List<string> { "rebase", "-q" };
        if (unsafeMode) args.Add("-u");
        AddFormat(args, "-f", format);
        if (newBackingFile is null)
        {
            args.AddRange(["-b", string.Empty]);
        }
        else
        {
            CheckPath(newBackingFile, nameof(newBackingFile));
            if (backingFormat is null) throw new ArgumentException("backingFormat is required with a backing file", nameof(backingFormat));
            CheckToken(backingFormat, nameof(backingFormat));
            args.AddRange(["-b", newBackingFile, "-F", backingFormat]);
        }
        args.Add(path);
        await runner.RunAsync(executable, args, cancellationToken).ConfigureAwait(false);
    }

    private async Task SnapshotAsync(string op, string path, string name, CancellationToken cancellationToken)
    {
        CheckPath(path, nameof(path));
        if (string.IsNullOrEmpty(name) || name.StartsWith('-')) throw new ArgumentException($"snapshot name '{name}' must be non-empty and must not start with '-'", nameof(name));
        await runner.RunAsync(executable, ["snapshot", op, name, path], cancellationToken).ConfigureAwait(false);
    }

    private static List<string> InfoArgs(string path, bool forceShare, string? format, bool backingChain)
    {
        CheckPath(path, nameof(path));
        var args = new List<string> { "info", "--output=json" };
        if (forceShare) args.Add("-U");
        if (backingChain) args.Add("--backing-chain");
        AddFormat(args, "-f", format);
        args.Add(path);
        return args;
    }

    private T Parse<T>(HostToolResult r, Func<string, T> parse)
    {
        try
        {
            return parse(r.Stdout);
        }
        catch (JsonException ex)
        {
            throw new HostToolException(executable, r.Arguments, r.ExitCode,
                $"unparseable JSON output ({ex.Message}); stderr: {r.Stderr}", ex);
        }
    }

    private static void AddFormat(List<string> args, string flag, string? format)
    {
        if (format is null) return;
        CheckToken(format, nameof(format));
        args.AddRange([flag, format]);
    }

    private static void CheckPath(string path, string param)
    {
        ArgumentException.ThrowIfNullOrEmpty(path, param);
        if (path.StartsWith('-')) throw new ArgumentException($"{param} '{path}' must not start with '-' (qemu-img would read it as an option)", param);
    }

    private static void CheckToken(string value, string param)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, param);
        if (!value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') || value.StartsWith('-'))
        {
            throw new ArgumentException($"{param} '{value}' must be a format name such as qcow2 or raw (letters, digits, '_', '-', '.')", param);
        }
    }

    /// <summary>-o key=value,key=value. Keys are plain names; commas inside values are doubled (qemu's escaping).</summary>
    internal static string FormatOptions(IReadOnlyDictionary<string, string> options) =>
        string.Join(',', options.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv =>
        {
            CheckToken(kv.Key, "options");
            return $"{kv.Key}={kv.Value.Replace(",", ",,", StringComparison.Ordinal)}";
        }));
}
