using KubeStack.Contracts.Catalog;

// The agent's host is filled in by the node-agent issue; until then it only proves the catalog loads.
var catalog = CatalogLoader.Default;
Console.WriteLine($"kubestack-node-agent: {catalog.Operations.Count} operations over {catalog.Kinds.Count} kinds loaded.");
return 0;
