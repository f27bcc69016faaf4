namespace KubeStack.NodeAgent.Runtime;

/// <summary>The work queue key: one request at a time per object.</summary>
public sealed record ResourceKey(string Kind, string Namespace, string Name)
{
    public override string ToString() => $"{Kind}/{Namespace}/{Name}";
}
