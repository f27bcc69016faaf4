namespace KubeStack.ApiEmulator;

/// <summary>The repository checkout the test or benchmark binaries were built in (the folder holding KubeStack.Operator.sln).</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KubeStack.Operator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No KubeStack.Operator.sln above {AppContext.BaseDirectory}: run from a repository checkout.");
    }
}
