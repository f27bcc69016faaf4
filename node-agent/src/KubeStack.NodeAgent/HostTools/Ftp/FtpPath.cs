namespace KubeStack.NodeAgent.HostTools.Ftp;

/// <summary>Absolute remote paths ("/a/b/c"), built from segments that cannot climb or break the command line.</summary>
public static class FtpPath
{
    /// <summary>Joins <paramref name="parent"/> and one segment (no '/', not '.' or '..', no control characters).</summary>
    public static string Combine(string parent, string segment)
    {
        ArgumentNullException.ThrowIfNull(parent);
        CheckSegment(segment);
        return parent.EndsWith('/') ? parent + segment : $"{parent}/{segment}";
    }

    /// <summary>Joins segments under the root: <c>Of("a", "b")</c> is <c>/a/b</c>.</summary>
    public static string Of(params string[] segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var path = "/";
        foreach (var s in segments)
        {
            path = Combine(path, s);
        }

        return path;
    }

    /// <summary>The segments of an absolute path; refuses '.', '..', empty segments and control characters.</summary>
    public static IReadOnlyList<string> Segments(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!path.StartsWith('/'))
        {
            throw new ArgumentException($"The remote path '{path}' is not absolute.", nameof(path));
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var s in segments)
        {
            CheckSegment(s);
        }

        return segments;
    }

    /// <summary>The parent of an absolute path ("/" for a top-level entry).</summary>
    public static string Parent(string path)
    {
        var segments = Segments(path);
        return segments.Count <= 1 ? "/" : "/" + string.Join('/', segments.Take(segments.Count - 1));
    }

    private static void CheckSegment(string segment)
    {
        ArgumentException.ThrowIfNullOrEmpty(segment);
        if (segment is "." or ".." || segment.Contains('/', StringComparison.Ordinal) || segment.Any(char.IsControl))
        {
            throw new ArgumentException($"'{segment.ReplaceLineEndings(" ")}' cannot be a segment of a remote path.", nameof(segment));
        }
    }
}
