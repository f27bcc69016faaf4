namespace KubeStack.Contracts.Validation;

/// <summary>
/// The syntax of a host path given by a user (decision path-rule): absolute, strictly below one of the allowed roots,
/// segments of letters, digits, '.', '_' and '-' (at most 255 characters each), no empty, '.' or '..' segments.
/// The length bounds (18-1024) are the parameter's minLength/maxLength. <see cref="SafePath"/> adds the checks
/// against the real file system (symbolic links).
/// </summary>
public static class PathRule
{
    /// <summary>The roots allowed by the catalog's global rule (2).</summary>
    public static readonly IReadOnlyList<string> DefaultRoots = ["/var/lib/libvirt", "/mnt/localfs", "/mnt/usb"];

    public const int MaxSegmentLength = 255;

    public static bool IsValid(string path, IReadOnlyList<string>? roots = null) => Check(path, roots).Count == 0;

    /// <summary>Problems of <paramref name="path"/>, as phrases ("must ...").</summary>
    public static IReadOnlyList<string> Check(string path, IReadOnlyList<string>? roots = null)
    {
        roots ??= DefaultRoots;
        if (path.Length == 0 || path[0] != '/')
        {
            return ["must be an absolute path starting with '/'"];
        }

        var segments = path.Split('/')[1..];
        foreach (var segment in segments)
        {
            if (segment.Length == 0)
            {
                return ["must not contain empty segments ('//' or a trailing '/')"];
            }

            if (segment is "." or "..")
            {
                return ["must not contain '.' or '..' segments"];
            }

            if (segment.Length > MaxSegmentLength)
            {
                return [$"must not have a segment longer than {MaxSegmentLength} characters"];
            }

            if (!segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return ["may contain only letters, digits, '.', '_', '-' and '/' as separator"];
            }
        }

        return roots.Any(r => IsStrictlyBelow(path, r))
            ? []
            : [$"must be inside {JoinRoots(roots)} (the allowed directories)"];
    }

    /// <summary>"/a, /b or /c".</summary>
    internal static string JoinRoots(IReadOnlyList<string> roots) =>
        roots.Count == 1 ? roots[0] : string.Join(", ", roots.Take(roots.Count - 1)) + " or " + roots[^1];

    internal static bool IsStrictlyBelow(string path, string root)
    {
        var r = root.TrimEnd('/');
        return path.Length > r.Length + 1 && path.StartsWith(r + "/", StringComparison.Ordinal);
    }

    internal static bool IsAtOrBelow(string path, string root)
    {
        var r = root.Length > 1 ? root.TrimEnd('/') : root;
        return path == r || path.StartsWith(r == "/" ? "/" : r + "/", StringComparison.Ordinal);
    }
}
