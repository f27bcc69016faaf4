using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Resources;

namespace KubeStack.Contracts.Crds;

/// <summary>
/// Pure builder: catalog → docs/api (issue 2 item 7): README.md (index) and one page per kind listing every
/// operation with its parameters, constraints, machine rule, an example resource and what the resource returns.
/// </summary>
public static class ApiDocsBuilder
{
    public const string Command = "make docs";
    public const string ExampleNode = "node1";

    public static string PageName(KindSpec kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return kind.Singular + ".md";
    }

    /// <summary>Every file of docs/api, README.md first, then one page per kind in catalog order.</summary>
    public static IReadOnlyList<GeneratedFile> Build(LifecycleCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var files = new List<GeneratedFile> { new("README.md", Index(catalog)) };
        files.AddRange(catalog.Kinds.Select(k => new GeneratedFile(PageName(k), KindPage(catalog, k))));
        return files;
    }

    public static string Index(LifecycleCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var md = new StringBuilder();
        md.Append(Generated.MarkdownHeader(Command));
        md.Append(CultureInfo.InvariantCulture, $"""
            # KubeStack API reference (`{KubeStackResource.GroupVersion}`)

            {catalog.Kinds.Count} namespaced kinds, {catalog.Operations.Count} lifecycle operations. A request is one key under
            `spec.lifecycle` with the parameters of that operation and nothing else; the node agent runs it
            asynchronously, removes `spec.lifecycle` when it ends and records the outcome in `.status.lifecycle`,
            the `Ready` condition, the seed's `spec.status` and Events (see `architecture.md` §1).

            How constraints are enforced:
            - the CRD's OpenAPI schema checks types, `required`, `pattern`, `enum` and `minLength`/`maxLength`
              (the **Rule** column of each page);
            - ranges of numeric strings (the OpenAPI schema can only check they are digits), semantic formats
              (paths, addresses, disk and network lists, cross-field rules), references to other resources and
              unknown parameters or operation keys are checked at admission by the validation library, which
              names the resource, operation, parameter, rule and offending value (a secret is never echoed).
            - Where the catalog's example breaks its own rule, the decision is recorded in `docs/decisions.md`.

            The state of each operation (planned, implemented, tested on a real host) is in
            [`docs/operations.md`](../operations.md).

            | Kind | Plural | Short names | Result in `spec` | Operations | CRD |
            |---|---|---|---|---|---|

            """);
        foreach (var kind in catalog.Kinds)
        {
            md.Append(CultureInfo.InvariantCulture,
                $"| [{kind.Kind}]({PageName(kind)}) | `{kind.Plural}` | {string.Join(", ", kind.ShortNames.Select(Code))} | "
                + $"{ResultFields(kind)} | {catalog.OperationsOf(kind.Kind).Count()} | "
                + $"[{CrdBuilder.FileName(kind)}](../../crds/{CrdBuilder.FileName(kind)}) |\n");
        }

        return md.ToString();
    }

    public static string KindPage(LifecycleCatalog catalog, KindSpec kind)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(kind);
        var operations = catalog.OperationsOf(kind.Kind).ToList();
        var md = new StringBuilder();
        md.Append(Generated.MarkdownHeader(Command));
        md.Append(CultureInfo.InvariantCulture, $"""
            # {kind.Kind}

            `apiVersion: {KubeStackResource.GroupVersion}`, namespaced. Plural `{kind.Plural}`, singular `{kind.Singular}`,
            short names {string.Join(", ", kind.ShortNames.Select(Code))}, category `{CrdBuilder.Category}`.
            CRD: [`crds/{CrdBuilder.FileName(kind)}`](../../crds/{CrdBuilder.FileName(kind)}). Back to the [index](README.md).

            ## What the resource returns

            {Returns(kind)}

            ## Operations

            | Section | Key | Title | Effect | Parameters | `nodeName` |
            |---|---|---|---|---|---|

            """);
        foreach (var op in operations)
        {
            md.Append(CultureInfo.InvariantCulture,
                $"| {Cell(op.Section)} | [`{op.Key}`](#{Anchor(op)}) | {Cell(op.Title)} | {Effect(op.Effect)} | {op.Parameters.Count} | {YesNo(op.AcceptsNodeName)} |\n");
        }

        foreach (var op in operations)
        {
            md.Append('\n');
            md.Append(Operation(kind, op));
        }

        return md.ToString();
    }

    private static string Operation(KindSpec kind, OperationSpec op)
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"""
            ### {op.Key}

            **{op.Section}** {CrdBuilder.TitleAndSummary(op)}

            - Operation: `{op.Operation}`; effect: {Effect(op.Effect)}; accepts `spec.nodeName`: {YesNo(op.AcceptsNodeName)}.
            - Depends on: {(string.IsNullOrWhiteSpace(op.DependsOn) ? "nothing." : CrdBuilder.Sentence(Text(op.DependsOn)))}
            - Returns: {ReturnsShort(kind, op)}


            """);
        if (op.Parameters.Count == 0)
        {
            md.Append("Takes no parameters: write `{}` as its value.\n\n");
        }
        else
        {
            md.Append("| Parameter | Type | Required | Constraint | Rule | Example |\n|---|---|---|---|---|---|\n");
            foreach (var p in op.Parameters)
            {
                md.Append(CultureInfo.InvariantCulture,
                    $"| `{p.Name}` | {TypeName(p)} | {YesNo(p.Required)} | {Cell(Join(p.Description, p.Constraint))} | {Cell(RuleText(p))} | {ExampleCell(p)} |\n");
            }

            md.Append('\n');
        }

        md.Append("Example:\n\n```yaml\n");
        md.Append(ExampleYaml(kind, op));
        md.Append("```\n");
        var notes = ExampleNotes(op);
        if (notes.Count > 0)
        {
            md.Append('\n');
            foreach (var note in notes)
            {
                md.Append(CultureInfo.InvariantCulture, $"- {note}\n");
            }
        }

        return md.ToString();
    }

    /// <summary>The machine-checked rule of a parameter, in words (empty when it has none).</summary>
    public static string RuleText(ParameterSpec parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        var rule = parameter.Rule;
        var parts = new List<string>();
        if (rule is not null && !rule.Todo)
        {
            if (rule.Pattern is not null)
            {
                parts.Add("pattern " + Code(rule.Pattern));
            }

            if (rule.Enum is { Count: > 0 })
            {
                parts.Add("one of " + string.Join(", ", rule.Enum.Select(Code)));
            }

            if (rule.MinLength is not null || rule.MaxLength is not null)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"length {rule.MinLength ?? 0}..{(rule.MaxLength is { } max ? max.ToString(CultureInfo.InvariantCulture) : "")}"));
            }

            if (rule.Range is { Count: 2 } range)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"integer {range[0]}..{range[1]}"));
            }

            if (rule.Format is not null)
            {
                parts.Add("format " + Code(rule.Format));
            }

            if (rule.References is not null)
            {
                parts.Add($"names an existing {rule.References}");
            }

            if (rule.Decision is not null)
            {
                parts.Add($"decision {Code(rule.Decision)}");
            }

            if (rule.ExampleInvalid)
            {
                parts.Add("example does not satisfy the rule");
            }
        }

        if (parameter.Secret)
        {
            parts.Add("secret (never echoed)");
        }

        return parts.Count == 0 ? "—" : string.Join("; ", parts);
    }

    /// <summary>The example resource of an operation, as YAML: the catalog's example values under spec.lifecycle.</summary>
    public static string ExampleYaml(KindSpec kind, OperationSpec op)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(op);
        return YamlText.Write(ExampleResource(kind, op));
    }

    /// <summary>The example resource of an operation: the catalog's example values under spec.lifecycle.</summary>
    public static JsonObject ExampleResource(KindSpec kind, OperationSpec op)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(op);
        var parameters = new JsonObject();
        foreach (var p in op.Parameters)
        {
            if (ExampleValue(p) is { } value)
            {
                parameters.Add(p.Name, value);
            }
        }

        var spec = new JsonObject();
        if (op.AcceptsNodeName)
        {
            spec.Add("nodeName", ExampleNode);
        }

        spec.Add("lifecycle", new JsonObject { [op.Key] = parameters });
        return new JsonObject
        {
            ["apiVersion"] = KubeStackResource.GroupVersion,
            ["kind"] = kind.Kind,
            ["metadata"] = new JsonObject
            {
                ["name"] = ExampleName(kind),
                ["namespace"] = "default",
                ["labels"] = new JsonObject { [Labels.Host] = ExampleNode },
            },
            ["spec"] = spec,
        };
    }

    private static string ExampleName(KindSpec kind) => (kind.ShortNames.FirstOrDefault() ?? kind.Singular) + "-example";

    /// <summary>
    /// The example value as the client sends it (booleans as booleans): the catalog's example, or the rule's valid
    /// example where the catalog's breaks the rule; null when there is none usable.
    /// </summary>
    private static JsonNode? ExampleValue(ParameterSpec p)
    {
        var example = UsableExample(p);
        if (example is null)
        {
            return null;
        }

        if (p.Type == ParameterType.Boolean)
        {
            return bool.TryParse(example, out var b) ? JsonValue.Create(b) : null;
        }

        return JsonValue.Create(example);
    }

    private static string? UsableExample(ParameterSpec p)
    {
        if (p.Rule is { ExampleInvalid: true, ValidExample: { Length: > 0 } valid })
        {
            return valid;
        }

        if (string.IsNullOrEmpty(p.Example) || p.Rule is { ExampleInvalid: true })
        {
            return null;
        }

        return p.Example;
    }

    private static List<string> ExampleNotes(OperationSpec op)
    {
        var notes = new List<string>();
        foreach (var p in op.Parameters)
        {
            var decision = p.Rule?.Decision is { } d ? $" (decision {Code(d)} in `docs/decisions.md`)" : "";
            var usable = UsableExample(p);
            if (p.Rule is { ExampleInvalid: true } && usable is not null)
            {
                notes.Add($"The catalog's example for `{p.Name}`, {Code(p.Example)}, does not satisfy its rule{decision}; "
                    + $"the example above uses {Code(usable)}.");
            }
            else if (p.Rule is { ExampleInvalid: true })
            {
                notes.Add($"The catalog's example for `{p.Name}`, {Code(p.Example)}, does not satisfy its rule{decision}; it is left out above.");
            }
            else if (usable is null)
            {
                if (p.Required)
                {
                    notes.Add($"`{p.Name}` is required but the catalog gives no example value; it is left out above.");
                }
            }
            else if (p.Type == ParameterType.Boolean && !bool.TryParse(usable, out _))
            {
                notes.Add($"`{p.Name}` is a boolean but the catalog's example is {Code(usable)}{decision}; it is left out above.");
            }
        }

        return notes;
    }

    private static string Returns(KindSpec kind)
    {
        var lines = new List<string>
        {
            $"- `spec.{kind.ResultKey}`: {ResultText(kind.ResultKey)}",
        };
        if (kind.Kind == Kinds.VirtualMachine)
        {
            lines.Add("- `spec.powerstate`: the seed's power state of the domain.");
        }

        if (kind.ResultKey == "data")
        {
            lines.Add("- `spec.type`: the network's type (l2bridge, l3switch, address, ...).");
        }

        lines.Add("- `spec.status`: the seed's outcome, shaped like a Kubernetes `Status` (`code`, `reason`, `message`, "
            + "`status: Success|Failure`, `details`), with `conditions.state.waiting` for older clients.");
        lines.Add("- `.status` (status subresource): `observedGeneration`, `nodeName`, "
            + (kind.Kind == Kinds.VirtualMachine ? "`powerState`, " : "")
            + "`conditions` (`Ready`), and `lifecycle` (`key`, `eventId`, `phase`, `reason`, `message`, `startTime`, "
            + "`completionTime`, `attempts`, `generation`) for the last request.");
        lines.Add("- Events: Normal when a request starts and succeeds, Warning (reason = error class) when it fails.");
        return string.Join("\n", lines);
    }

    private static string ReturnsShort(KindSpec kind, OperationSpec op) => op.Effect switch
    {
        OperationEffect.Delete => $"the object is removed from the node, then from Kubernetes (`{kind.Kind}` is deleted).",
        _ => $"the observed object in `spec.{kind.ResultKey}`"
            + (kind.Kind == Kinds.VirtualMachine ? " and `spec.powerstate`" : "")
            + "; the outcome in `.status.lifecycle` and `spec.status`.",
    };

    private static string ResultText(string resultKey) => resultKey switch
    {
        "domain" => "the libvirt domain XML as JSON (attributes as `_name`, text under `text`, repeated elements as arrays).",
        "domainsnapshot" => "the libvirt domainsnapshot XML as JSON.",
        "volume" => "the volume observed on the node.",
        "pool" => "the storage pool observed on the node.",
        "data" => "the real OVS/OVN objects of the network, read back by the agent.",
        _ => "the observed object.",
    };

    private static string ResultFields(KindSpec kind) =>
        Code(kind.ResultKey)
        + (kind.Kind == Kinds.VirtualMachine ? ", `powerstate`" : "")
        + (kind.ResultKey == "data" ? ", `type`" : "");

    private static string TypeName(ParameterSpec p) => p.Type == ParameterType.Boolean ? "boolean" : "string";

    private static string Effect(OperationEffect effect) => effect.ToString().ToLowerInvariant();

    private static string YesNo(bool value) => value ? "yes" : "no";

    private static string ExampleCell(ParameterSpec p) =>
        string.IsNullOrEmpty(p.Example) ? "—" : Cell(Code(p.Example));

    private static string Join(string description, string constraint)
    {
        var d = Text(description);
        var c = Text(CrdBuilder.WithoutLabel(constraint));
        return (d.Length, c.Length) switch
        {
            (0, 0) => "—",
            (_, 0) => CrdBuilder.Sentence(d),
            (0, _) => CrdBuilder.Sentence(c),
            _ => CrdBuilder.Sentence(d) + " " + CrdBuilder.Sentence(c),
        };
    }

    /// <summary>GitHub's heading anchor of an operation's section (the heading is the bare key).</summary>
    public static string Anchor(OperationSpec op)
    {
        ArgumentNullException.ThrowIfNull(op);
        return op.Key.ToLowerInvariant();
    }

    /// <summary>Single-line text with runs of whitespace collapsed.</summary>
    private static string Text(string text) =>
        string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>A table cell: one line, pipes escaped (GFM honours \| inside code spans in tables too).</summary>
    private static string Cell(string text) => Text(text).Replace("|", "\\|", StringComparison.Ordinal);

    /// <summary>An inline code span that survives backticks in the value.</summary>
    private static string Code(string text)
    {
        var t = Text(text);
        if (!t.Contains('`', StringComparison.Ordinal))
        {
            return $"`{t}`";
        }

        var fence = new string('`', LongestBacktickRun(t) + 1);
        return $"{fence} {t} {fence}";
    }

    private static int LongestBacktickRun(string text)
    {
        int longest = 0, run = 0;
        foreach (var c in text)
        {
            run = c == '`' ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        return longest;
    }
}
