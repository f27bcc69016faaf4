using System.Globalization;
using k8s.Models;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;

namespace KubeStack.Contracts.Crds;

/// <summary>
/// Pure builder: catalog → one apiextensions.k8s.io/v1 CustomResourceDefinition per kind (issue 2 item 4).
/// The schema is structural: every node is typed; the observed state (the seed's result view) is preserved as is.
/// </summary>
/// <remarks>
/// <para><c>spec.lifecycle</c> and each operation object carry <c>x-kubernetes-preserve-unknown-fields: true</c>
/// on purpose. The API server prunes unknown fields while decoding a request, before admission; a pruned
/// <c>foo: bar</c> (or an unknown operation key) would reach neither the validating webhook nor the agent and
/// the request would run silently without it. Preserving them lets the validation library reject the request
/// with a message naming the field (the seed's IllegalFormat). Every documented parameter is still typed and
/// constrained here (pattern, enum, lengths, required), so the OpenAPI layer rejects what it can express.</para>
/// <para><c>additionalProperties: false</c> is not used: structural schemas forbid it together with <c>properties</c>.</para>
/// </remarks>
public static class CrdBuilder
{
    public const string Category = "kubestack";

    /// <summary>Used when a range rule has no pattern of its own: the range is checked by the validation library.</summary>
    public const string DigitsPattern = "^[0-9]+$";
    public const string SignedDigitsPattern = "^-?[0-9]+$";

    /// <summary>A DNS-1123 subdomain, which every Kubernetes node name is.</summary>
    public const string NodeNamePattern = @"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

    public static string FileName(KindSpec kind) => $"{kind.Plural}.{KubeStackResource.Group}.yaml";

    public static IReadOnlyList<V1CustomResourceDefinition> BuildAll(LifecycleCatalog catalog) =>
        catalog.Kinds.Select(k => Build(catalog, k)).ToList();

    public static V1CustomResourceDefinition Build(LifecycleCatalog catalog, KindSpec kind)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(kind);
        var operations = catalog.OperationsOf(kind.Kind).ToList();
        if (operations.Count == 0)
        {
            throw new InvalidDataException($"The catalog has no operation for kind '{kind.Kind}'.");
        }

        return new V1CustomResourceDefinition
        {
            ApiVersion = "apiextensions.k8s.io/v1",
            Kind = "CustomResourceDefinition",
            Metadata = new V1ObjectMeta
            {
                Name = $"{kind.Plural}.{KubeStackResource.Group}",
                Labels = new Dictionary<string, string>
                {
                    ["app.kubernetes.io/name"] = "kubestack",
                    ["app.kubernetes.io/part-of"] = "kubestack",
                },
            },
            Spec = new V1CustomResourceDefinitionSpec
            {
                Group = KubeStackResource.Group,
                Scope = "Namespaced",
                Names = new V1CustomResourceDefinitionNames
                {
                    Kind = kind.Kind,
                    ListKind = kind.Kind + "List",
                    Plural = kind.Plural,
                    Singular = kind.Singular,
                    ShortNames = [.. kind.ShortNames],
                    Categories = [Category],
                },
                Versions =
                [
                    new V1CustomResourceDefinitionVersion
                    {
                        Name = KubeStackResource.Version,
                        Served = true,
                        Storage = true,
                        Subresources = new V1CustomResourceSubresources { Status = new Dictionary<string, object>() },
                        AdditionalPrinterColumns = PrinterColumns(kind),
                        Schema = new V1CustomResourceValidation { OpenAPIV3Schema = RootSchema(kind, operations) },
                    },
                ],
            },
        };
    }

    private static List<V1CustomResourceColumnDefinition> PrinterColumns(KindSpec kind)
    {
        var columns = new List<V1CustomResourceColumnDefinition>
        {
            Column("Node", ".status.nodeName", "The node the object lives on (status.nodeName)."),
        };
        if (kind.Kind == Kinds.VirtualMachine)
        {
            columns.Add(Column("Power", ".status.powerState", "Power state of the domain observed on the node."));
        }

        columns.Add(Column("Request", ".status.lifecycle.key", "Operation key of the last lifecycle request."));
        columns.Add(Column("Phase", ".status.lifecycle.phase", "Phase of the last request: Pending, Accepted, Running, Succeeded or Failed."));
        columns.Add(Column("Reason", ".status.lifecycle.reason", "Reason of the last request's outcome (an error class when it failed)."));
        columns.Add(Column("Ready", ".status.conditions[?(@.type==\"Ready\")].status", "Status of the Ready condition."));
        columns.Add(new V1CustomResourceColumnDefinition { Name = "Age", Type = "date", JsonPath = ".metadata.creationTimestamp" });
        columns.Add(Column("Host", ".metadata.labels.host", "The host label set by the client (target node).", priority: 1));
        columns.Add(Column("Message", ".status.lifecycle.message", "Message of the last request's outcome.", priority: 1));
        return columns;
    }

    private static V1CustomResourceColumnDefinition Column(string name, string path, string description, int? priority = null) =>
        new() { Name = name, Type = "string", JsonPath = path, Description = description, Priority = priority };

    private static V1JSONSchemaProps RootSchema(KindSpec kind, List<OperationSpec> operations) => new()
    {
        Type = "object",
        Description = $"{kind.Kind} of the KubeStack lifecycle API ({KubeStackResource.GroupVersion}). "
            + "Write one lifecycle request under spec.lifecycle; the outcome is reported in .status and in Events.",
        Properties = new Dictionary<string, V1JSONSchemaProps>
        {
            ["apiVersion"] = Str("APIVersion defines the versioned schema of this representation of an object."),
            ["kind"] = Str("Kind is a string value representing the REST resource this object represents."),
            ["metadata"] = new V1JSONSchemaProps { Type = "object" },
            ["spec"] = SpecSchema(kind, operations),
            ["status"] = StatusSchema(kind),
        },
    };

    private static V1JSONSchemaProps SpecSchema(KindSpec kind, List<OperationSpec> operations)
    {
        var properties = new Dictionary<string, V1JSONSchemaProps>
        {
            ["nodeName"] = new V1JSONSchemaProps
            {
                Type = "string",
                Description = "Where to run the request (for creates); afterwards the node that owns the object. "
                    + "A Kubernetes node name (DNS-1123 subdomain).",
                MaxLength = 253,
                Pattern = NodeNamePattern,
            },
            ["lifecycle"] = LifecycleSchema(kind, operations),
            ["status"] = SeedStatusSchema(),
        };
        if (kind.Kind == Kinds.VirtualMachine)
        {
            properties["powerstate"] = Str("The seed's power state of the domain (observed by the agent).");
        }

        if (kind.ResultKey == "data")
        {
            properties["type"] = Str("The network's type (l2bridge, l3switch, address, ...), observed by the agent.");
        }

        properties[kind.ResultKey] = Observed(ResultDescription(kind.ResultKey));
        return new V1JSONSchemaProps
        {
            Type = "object",
            Description = "The request (lifecycle), the target node and the seed's view of the observed object. "
                + "Fields the contract does not name are kept as written by existing clients.",
            Properties = properties,
            XKubernetesPreserveUnknownFields = true,
        };
    }

    private static string ResultDescription(string resultKey) => resultKey switch
    {
        "domain" => "The libvirt domain XML as JSON (attributes as _name, text under text), observed by the agent.",
        "domainsnapshot" => "The libvirt domainsnapshot XML as JSON, observed by the agent.",
        "volume" => "The volume observed on the node.",
        "pool" => "The storage pool observed on the node.",
        "data" => "The real OVS/OVN objects of the network, read back by the agent.",
        _ => "The observed object.",
    };

    private static V1JSONSchemaProps LifecycleSchema(KindSpec kind, List<OperationSpec> operations)
    {
        var properties = new Dictionary<string, V1JSONSchemaProps>(StringComparer.Ordinal);
        foreach (var operation in operations)
        {
            properties.Add(operation.Key, OperationSchema(operation));
        }

        return new V1JSONSchemaProps
        {
            Type = "object",
            Description = $"One lifecycle request: exactly one operation key of {kind.Kind} with its parameters. "
                + "It is removed when the request ends; the outcome is recorded in status.lifecycle. "
                + "Unknown keys and parameters are kept so that admission rejects them by name.",
            MaxProperties = 1,
            Properties = properties,
            XKubernetesPreserveUnknownFields = true,
        };
    }

    private static V1JSONSchemaProps OperationSchema(OperationSpec operation)
    {
        var properties = new Dictionary<string, V1JSONSchemaProps>(StringComparer.Ordinal);
        foreach (var parameter in operation.Parameters)
        {
            properties.Add(parameter.Name, ParameterSchema(parameter));
        }

        var required = operation.Parameters.Where(p => p.Required).Select(p => p.Name).ToList();
        return new V1JSONSchemaProps
        {
            Type = "object",
            Description = OperationDescription(operation),
            Properties = properties.Count > 0 ? properties : null,
            Required = required.Count > 0 ? required : null,
            XKubernetesPreserveUnknownFields = true,
        };
    }

    /// <summary>The operation's one-paragraph description used in the schema (kubectl explain).</summary>
    public static string OperationDescription(OperationSpec operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var text = $"{operation.Section} {TitleAndSummary(operation)}";
        if (!string.IsNullOrWhiteSpace(operation.DependsOn))
        {
            text += $" Depends on: {Sentence(operation.DependsOn)}";
        }

        if (operation.AcceptsNodeName)
        {
            text += " Accepts spec.nodeName.";
        }

        if (operation.Parameters.Count == 0)
        {
            text += " Takes no parameters.";
        }

        return text.Trim();
    }

    private static V1JSONSchemaProps ParameterSchema(ParameterSpec parameter)
    {
        var schema = new V1JSONSchemaProps
        {
            Type = parameter.Type == ParameterType.Boolean ? "boolean" : "string",
            Description = ParameterDescription(parameter),
        };
        var rule = parameter.Rule;
        if (rule is null || rule.Todo || parameter.Type != ParameterType.String)
        {
            return schema;
        }

        schema.Pattern = rule.Pattern ?? RangePattern(rule);
        schema.EnumProperty = rule.Enum is { Count: > 0 } values ? values.Cast<object>().ToList() : null;
        schema.MinLength = rule.MinLength;
        schema.MaxLength = rule.MaxLength;
        return schema;
    }

    private static string? RangePattern(ParameterRule rule) =>
        rule.Range is { Count: 2 } range ? (range[0] < 0 ? SignedDigitsPattern : DigitsPattern) : null;

    /// <summary>The parameter's description in the schema: meaning, documented constraint and what admission adds.</summary>
    public static string ParameterDescription(ParameterSpec parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        var parts = new List<string>();
        if (!string.IsNullOrWhiteSpace(parameter.Description))
        {
            parts.Add(Sentence(parameter.Description));
        }

        if (!string.IsNullOrWhiteSpace(parameter.Constraint))
        {
            parts.Add("Constraint: " + Sentence(WithoutLabel(parameter.Constraint)));
        }

        var rule = parameter.Rule;
        if (rule is { Todo: false })
        {
            if (rule.Range is { Count: 2 } range)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture,
                    $"Range {range[0]}..{range[1]} is checked at admission by the validation library."));
            }

            if (!string.IsNullOrEmpty(rule.Format))
            {
                parts.Add($"Format '{rule.Format}' is checked at admission by the validation library.");
            }

            if (!string.IsNullOrEmpty(rule.References))
            {
                parts.Add($"Names a {rule.References} that must exist.");
            }
        }

        if (parameter.Secret)
        {
            parts.Add("Secret: never echoed in messages, status, Events or logs.");
        }

        return string.Join(" ", parts);
    }

    private static V1JSONSchemaProps SeedStatusSchema() => new()
    {
        Type = "object",
        Description = "The seed's outcome of the last request, shaped like a Kubernetes Status "
            + "(status: Success|Failure), plus conditions.state.waiting for older clients.",
        XKubernetesPreserveUnknownFields = true,
        Properties = new Dictionary<string, V1JSONSchemaProps>
        {
            ["kind"] = Str(null),
            ["apiVersion"] = Str(null),
            ["status"] = Str("Success or Failure."),
            ["code"] = new V1JSONSchemaProps { Type = "integer", Format = "int32" },
            ["reason"] = Str(null),
            ["message"] = Str(null),
            ["details"] = new V1JSONSchemaProps
            {
                Type = "object",
                XKubernetesPreserveUnknownFields = true,
                Properties = new Dictionary<string, V1JSONSchemaProps>
                {
                    ["name"] = Str(null),
                    ["kind"] = Str(null),
                    ["group"] = Str(null),
                    ["causes"] = new V1JSONSchemaProps
                    {
                        Type = "array",
                        Items = new V1JSONSchemaProps
                        {
                            Type = "object",
                            Properties = new Dictionary<string, V1JSONSchemaProps>
                            {
                                ["field"] = Str(null),
                                ["reason"] = Str(null),
                                ["message"] = Str(null),
                            },
                        },
                    },
                },
            },
            ["conditions"] = new V1JSONSchemaProps
            {
                Type = "object",
                Properties = new Dictionary<string, V1JSONSchemaProps>
                {
                    ["state"] = new V1JSONSchemaProps
                    {
                        Type = "object",
                        Properties = new Dictionary<string, V1JSONSchemaProps>
                        {
                            ["waiting"] = new V1JSONSchemaProps
                            {
                                Type = "object",
                                Properties = new Dictionary<string, V1JSONSchemaProps>
                                {
                                    ["reason"] = Str(null),
                                    ["message"] = Str(null),
                                },
                            },
                        },
                    },
                },
            },
        },
    };

    private static V1JSONSchemaProps StatusSchema(KindSpec kind) => new()
    {
        Type = "object",
        Description = "The Kubernetes-native view, written by the node agent through the status subresource.",
        Properties = new Dictionary<string, V1JSONSchemaProps>
        {
            ["observedGeneration"] = new V1JSONSchemaProps { Type = "integer", Format = "int64", Description = "The metadata.generation the agent last acted on." },
            ["nodeName"] = Str("The node the object lives on."),
            ["powerState"] = Str(kind.Kind == Kinds.VirtualMachine
                ? "Power state of the domain: Running, Paused, Stopped, ..."
                : "Used by VirtualMachine only."),
            ["conditions"] = ConditionsSchema(),
            ["lifecycle"] = LifecycleRecordSchema(),
        },
    };

    private static V1JSONSchemaProps ConditionsSchema() => new()
    {
        Type = "array",
        Description = "Standard conditions (at least Ready).",
        XKubernetesListType = "map",
        XKubernetesListMapKeys = ["type"],
        Items = new V1JSONSchemaProps
        {
            Type = "object",
            Required = ["type", "status", "lastTransitionTime"],
            Properties = new Dictionary<string, V1JSONSchemaProps>
            {
                ["type"] = new V1JSONSchemaProps { Type = "string", MaxLength = 316, Description = "Type of the condition (Ready, NodeReachable)." },
                ["status"] = new V1JSONSchemaProps { Type = "string", EnumProperty = ["True", "False", "Unknown"] },
                ["reason"] = new V1JSONSchemaProps { Type = "string", MaxLength = 1024 },
                ["message"] = new V1JSONSchemaProps { Type = "string", MaxLength = 32768 },
                ["lastTransitionTime"] = new V1JSONSchemaProps { Type = "string", Format = "date-time" },
                ["observedGeneration"] = new V1JSONSchemaProps { Type = "integer", Format = "int64", Minimum = 0 },
            },
        },
    };

    private static V1JSONSchemaProps LifecycleRecordSchema() => new()
    {
        Type = "object",
        Description = "What happened to the last (or current) lifecycle request.",
        Required = ["key", "phase"],
        Properties = new Dictionary<string, V1JSONSchemaProps>
        {
            ["key"] = Str("The operation key of the request."),
            ["eventId"] = Str("The request's event ID (label kubestack.label.event.id)."),
            ["phase"] = new V1JSONSchemaProps
            {
                Type = "string",
                EnumProperty = Enum.GetNames<RequestPhase>().Cast<object>().ToList(),
                Description = "Pending, Accepted, Running, Succeeded or Failed.",
            },
            ["reason"] = Str("UpperCamelCase reason; on failure the error class (LibvirtError, VirtctlError, VirtletError, Exception)."),
            ["message"] = Str("What happened, on which node, and what to do."),
            ["startTime"] = new V1JSONSchemaProps { Type = "string", Format = "date-time" },
            ["completionTime"] = new V1JSONSchemaProps { Type = "string", Format = "date-time" },
            ["attempts"] = new V1JSONSchemaProps { Type = "integer", Format = "int32", Minimum = 0, Description = "How many times the request was started." },
            ["generation"] = new V1JSONSchemaProps { Type = "integer", Format = "int64", Description = "metadata.generation of the spec that carried the request; identifies one submission." },
        },
    };

    private static V1JSONSchemaProps Observed(string description) => new()
    {
        Type = "object",
        Description = description,
        XKubernetesPreserveUnknownFields = true,
    };

    private static V1JSONSchemaProps Str(string? description) => new() { Type = "string", Description = description };

    /// <summary>"Title. Summary." or just "Title." when the summary repeats the title.</summary>
    internal static string TitleAndSummary(OperationSpec operation)
    {
        var title = Sentence(operation.Title);
        var summary = Sentence(operation.Summary);
        return summary.Length == 0 || string.Equals(title, summary, StringComparison.OrdinalIgnoreCase) ? title : $"{title} {summary}";
    }

    /// <summary>The constraint text without a leading "Constraint:" label (some catalog entries repeat it).</summary>
    internal static string WithoutLabel(string constraint)
    {
        var c = constraint.Trim();
        return c.StartsWith("Constraint:", StringComparison.OrdinalIgnoreCase) ? c["Constraint:".Length..].Trim() : c;
    }

    /// <summary>Trims and ends the text with a period.</summary>
    internal static string Sentence(string text)
    {
        var t = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return t.Length == 0 || t.EndsWith('.') || t.EndsWith('?') || t.EndsWith('!') ? t : t + ".";
    }
}
