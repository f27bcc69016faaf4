namespace KubeStack.Contracts.Catalog;

/// <summary>The lifecycle catalog: the 8 kinds and 110 operations of doslab.io/v1, read from catalog.yaml.</summary>
public sealed class LifecycleCatalog
{
    public required List<KindSpec> Kinds { get; init; }
    public required List<OperationSpec> Operations { get; init; }

    public KindSpec Kind(string kind) =>
        Kinds.FirstOrDefault(k => k.Kind == kind) ?? throw new KeyNotFoundException($"Unknown kind '{kind}'.");

    public IEnumerable<OperationSpec> OperationsOf(string kind) => Operations.Where(o => o.Kind == kind);

    public OperationSpec? Find(string kind, string key) =>
        Operations.FirstOrDefault(o => o.Kind == kind && o.Key == key);
}

public sealed class KindSpec
{
    public required string Kind { get; init; }
    public required string Plural { get; init; }
    public required string Singular { get; init; }
    public required List<string> ShortNames { get; init; }
    /// <summary>Where the seed's result view lives under spec: domain, volume, pool, domainsnapshot or data.</summary>
    public required string ResultKey { get; init; }
}

public enum OperationEffect
{
    /// <summary>Brings the object into existence on the node (createDisk, createPool, ...).</summary>
    Create,
    /// <summary>Acts on an existing object.</summary>
    Update,
    /// <summary>Removes the object from the node, and then from Kubernetes.</summary>
    Delete,
}

public sealed class OperationSpec
{
    public required string Kind { get; init; }
    /// <summary>The lifecycle key as clients write it under spec.lifecycle (createDisk).</summary>
    public required string Key { get; init; }
    /// <summary>The operation's type name (CreateDisk).</summary>
    public required string Operation { get; init; }
    public required string Section { get; init; }
    public required string Title { get; init; }
    public required string Summary { get; init; }
    public bool AcceptsNodeName { get; init; }
    public OperationEffect Effect { get; init; }
    public string DependsOn { get; init; } = "";
    public List<ParameterSpec> Parameters { get; init; } = [];

    public ParameterSpec? Parameter(string name) => Parameters.FirstOrDefault(p => p.Name == name);
}

public enum ParameterType
{
    String,
    Boolean,
}

public sealed class ParameterSpec
{
    public required string Name { get; init; }
    public ParameterType Type { get; init; }
    public bool Required { get; init; }
    public string Description { get; init; } = "";
    /// <summary>The catalog's constraint text, in English, as documented.</summary>
    public string Constraint { get; init; } = "";
    public string Example { get; init; } = "";
    /// <summary>The machine-checked reading of <see cref="Constraint"/>; null when the constraint is free text with no rule.</summary>
    public ParameterRule? Rule { get; init; }
    /// <summary>Passwords and keys: never echoed in messages, status, Events, logs or metrics.</summary>
    public bool Secret { get; init; }
}

/// <summary>
/// What a parameter value must satisfy. Pattern, Enum, MinLength and MaxLength are also expressed in the CRD's
/// OpenAPI schema; Range and Format are checked by the validation library (admission webhook and agent).
/// </summary>
public sealed class ParameterRule
{
    /// <summary>ECMA/RE2-compatible regular expression, anchored.</summary>
    public string? Pattern { get; init; }
    public List<string>? Enum { get; init; }
    public int? MinLength { get; init; }
    public int? MaxLength { get; init; }
    /// <summary>Inclusive [min, max] of a decimal integer carried as a string.</summary>
    public List<long>? Range { get; init; }
    /// <summary>Name of a semantic validator (name, path, ipv4, cidr, mac, diskList, networkList, graphics, vcpus, ...).</summary>
    public string? Format { get; init; }
    /// <summary>Kind of the resource this parameter names, which must exist (checked at admission and by the operator).</summary>
    public string? References { get; init; }
    /// <summary>Id of the entry in docs/decisions.md that explains a reading which differs from the constraint text.</summary>
    public string? Decision { get; init; }
    /// <summary>True when the documented example does not satisfy the rule; the decision says why.</summary>
    public bool ExampleInvalid { get; init; }
    /// <summary>
    /// Where <see cref="ExampleInvalid"/> is set: a value that satisfies the rule, for docs and generated tests
    /// (for Boolean parameters "true" or "false").
    /// </summary>
    public string? ValidExample { get; init; }
    /// <summary>Set by the importer where the constraint text still needs a hand-written rule; a test fails while any remains.</summary>
    public bool Todo { get; init; }
}
