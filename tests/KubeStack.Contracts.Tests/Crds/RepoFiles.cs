namespace KubeStack.Contracts.Tests.Crds;

/// <summary>Finds committed files by walking up from the test binaries to the folder holding KubeStack.Operator.sln.</summary>
internal static class RepoFiles
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "KubeStack.Operator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No KubeStack.Operator.sln above {AppContext.BaseDirectory}.");
    }
}
