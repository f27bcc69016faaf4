using KubeStack.Contracts.Catalog;

// The operator's host is filled in by the operator issue; until then it only proves the catalog loads.
var catalog = CatalogLoader.Default;
Console.WriteLine($"kubestack-operator: {catalog.Operations.Count} operations over {catalog.Kinds.Count} kinds loaded.");
return 0;
