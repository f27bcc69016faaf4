namespace KubeStack.Contracts.Validation;

/// <summary>The outcome of resolving a user path on the host.</summary>
/// <param name="FullPath">The path with every symbolic link resolved (components that do not exist yet are kept as given).</param>
/// <param name="Error">Why the path is refused, as a phrase ("must ..."); null when it is safe.</param>
public sealed record SafePathResult(string? FullPath, string? Error)
{
    public bool IsSafe => Error is null;
}

/// <summary>A user path was refused by <see cref="SafePath.Resolve"/>.</summary>
public sealed class UnsafePathException(string path, string reason)
    : Exception($"The path '{path}' is refused: it {reason}.")
{
    public string Path { get; } = path;
    public string Reason { get; } = reason;
}

/// <summary>
/// Resolves a user-given path against the real file system, for the agent, right before it uses the path.
/// The path must first pass <see cref="PathRule"/>; then every symbolic link along it is followed, and the real
/// path must still lie inside one of the allowed roots (each root itself resolved, so a root that is a link to
/// another disk still works). Components that do not exist yet (a file about to be created) are appended as given.
/// This closes the symlink escape at check time; callers that create files should still open the final component
/// without following links (O_NOFOLLOW, or FileOptions and a post-open re-check) to close the race window.
/// </summary>
public static class SafePath
{
    /// <summary>Linux's own limit on links followed while resolving one path.</summary>
    public const int MaxSymlinkHops = 40;

    /// <summary>Resolves <paramref name="path"/>, or throws <see cref="UnsafePathException"/>.</summary>
    public static string Resolve(string path, IReadOnlyList<string>? roots = null)
    {
        var result = TryResolve(path, roots);
        return result.IsSafe ? result.FullPath! : throw new UnsafePathException(path, result.Error!);
    }

    public static SafePathResult TryResolve(string path, IReadOnlyList<string>? roots = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        roots ??= PathRule.DefaultRoots;
        var syntax = PathRule.Check(path, roots);
        if (syntax.Count > 0)
        {
            return new SafePathResult(null, syntax[0]);
        }

        var real = RealPath(path, out var error);
        if (real is null)
        {
            return new SafePathResult(null, error);
        }

        foreach (var root in roots)
        {
            var realRoot = RealPath(root, out _) ?? root;
            if (PathRule.IsAtOrBelow(real, realRoot) && real != realRoot)
            {
                return new SafePathResult(real, null);
            }
        }

        return new SafePathResult(null,
            $"resolves through a symbolic link to {real}, which is outside the allowed directories {string.Join(", ", roots)}");
    }

    /// <summary>Follows every symbolic link of an absolute path; null (with a reason) on a loop or a bad link.</summary>
    internal static string? RealPath(string path, out string? error)
    {
        error = null;
        var pending = new Stack<string>(Split(path).Reverse());
        var resolved = new List<string>();
        var hops = 0;
        var exists = true;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            var candidate = "/" + string.Join('/', resolved.Append(part));
            string? target = null;
            if (exists)
            {
                var info = new FileInfo(candidate);
                target = info.LinkTarget;
                exists = target is not null || info.Exists || Directory.Exists(candidate);
            }

            if (target is null)
            {
                resolved.Add(part);
                continue;
            }

            if (++hops > MaxSymlinkHops)
            {
                error = $"goes through more than {MaxSymlinkHops} symbolic links (a loop?)";
                return null;
            }

            if (target.StartsWith('/'))
            {
                resolved.Clear();
            }

            foreach (var t in Split(target).Reverse())
            {
                pending.Push(t);
            }
        }

        return "/" + string.Join('/', resolved);
    }

    private static IEnumerable<string> Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}
