using KubeStack.Contracts.Crds;

namespace KubeStack.Gen;

internal static class FileWriter
{
    /// <summary>Writes every file into the folder and removes generated files of that folder that are no longer produced.</summary>
    public static void WriteFolder(string folder, IReadOnlyList<GeneratedFile> files)
    {
        Directory.CreateDirectory(folder);
        foreach (var file in files)
        {
            Write(Path.Combine(folder, file.Name), file.Content);
        }

        var names = files.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            if (!names.Contains(Path.GetFileName(path)) && GeneratedArtifacts.IsGenerated(File.ReadAllText(path)))
            {
                File.Delete(path);
                Console.WriteLine($"removed   {Display(path)}");
            }
        }
    }

    public static void Write(string path, string content)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content)
        {
            Console.WriteLine($"unchanged {Display(path)}");
            return;
        }

        File.WriteAllText(path, content);
        Console.WriteLine($"wrote     {Display(path)}");
    }

    private static string Display(string path) => Path.GetRelativePath(Environment.CurrentDirectory, path);
}
