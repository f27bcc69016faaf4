namespace KubeStack.Contracts.Validation;

/// <summary>One broken rule of a lifecycle request.</summary>
/// <param name="Field">JSON path of the offending field, e.g. <c>spec.lifecycle.createDisk.capacity</c>.</param>
/// <param name="Rule">Short rule id: <see cref="RuleIds"/> or the name of a semantic format (path, mac, ...).</param>
/// <param name="Message">
/// A full sentence naming the resource kind and name, the operation, the parameter, the rule and the offending value
/// (never the value of a secret parameter).
/// </param>
public sealed record ValidationError(string Field, string Rule, string Message);

/// <summary>The outcome of validating one request.</summary>
public sealed record ValidationResult(IReadOnlyList<ValidationError> Errors)
{
    public bool IsValid => Errors.Count == 0;

    /// <summary>The first error's message (what an admission webhook returns), or null when the request is valid.</summary>
    public string? FirstMessage => Errors.Count == 0 ? null : Errors[0].Message;

    /// <summary>All messages, one per line; empty when the request is valid.</summary>
    public string Summary => string.Join(Environment.NewLine, Errors.Select(e => e.Message));
}

/// <summary>The short ids used in <see cref="ValidationError.Rule"/> besides the format names.</summary>
public static class RuleIds
{
    public const string Required = "required";
    public const string UnknownParameter = "unknownParameter";
    public const string Type = "type";
    public const string Pattern = "pattern";
    public const string Enum = "enum";
    public const string MinLength = "minLength";
    public const string MaxLength = "maxLength";
    public const string Range = "range";
    public const string UnknownKind = "unknownKind";
    public const string UnknownOperation = "unknownOperation";
    public const string WrongKind = "wrongKind";
    public const string SingleOperation = "singleOperation";
    public const string Name = "name";
    public const string NodeName = "nodeName";
    public const string Exclusive = "exclusive";
    public const string RequiredWith = "requiredWith";
    public const string CpuTopology = "cpuTopology";
    public const string PoolUrl = "poolUrl";
    public const string PoolOptions = "poolOptions";
    public const string InSubnet = "inSubnet";
    public const string L3BridgeOnly = "l3bridgeOnly";
    public const string OneOf = "oneOf";
    public const string DeviceAddress = "deviceAddress";
}
