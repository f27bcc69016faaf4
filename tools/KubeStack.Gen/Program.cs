using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Crds;
using KubeStack.Gen;

// Generates crds/ and docs/ from the embedded catalog (make crds, make docs). Writes only files whose text changed.
const string Usage = """
    usage: KubeStack.Gen crds <dir>                       write one CRD per kind into <dir> (crds)
           KubeStack.Gen docs <api-dir> [<operations.md>] write the API pages into <api-dir> (docs/api) and the
                                                          support table (default: <api-dir>/../operations.md, merged
                                                          with operations-status.yaml beside it; created when missing)
    """;

if (args.Length < 2)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

var catalog = CatalogLoader.Default;
try
{
    switch (args[0])
    {
        case "crds" when args.Length == 2:
            FileWriter.WriteFolder(args[1], GeneratedArtifacts.Crds(catalog));
            return 0;
        case "docs" when args.Length is 2 or 3:
            var apiDir = Path.GetFullPath(args[1]);
            FileWriter.WriteFolder(apiDir, GeneratedArtifacts.ApiDocs(catalog));
            var operationsPath = args.Length == 3
                ? Path.GetFullPath(args[2])
                : Path.Combine(Path.GetDirectoryName(apiDir) ?? ".", OperationsTable.FileName);
            var statusPath = Path.Combine(Path.GetDirectoryName(operationsPath) ?? ".", OperationsTable.StatusFileName);
            if (!File.Exists(statusPath))
            {
                FileWriter.Write(statusPath, OperationsTable.StatusTemplate(catalog));
            }

            var operations = GeneratedArtifacts.Operations(catalog, File.ReadAllText(statusPath));
            FileWriter.Write(operationsPath, operations.Content);
            return 0;
        default:
            Console.Error.WriteLine(Usage);
            return 2;
    }
}
catch (InvalidDataException e)
{
    Console.Error.WriteLine($"KubeStack.Gen: {e.Message}");
    return 1;
}
