using System.Globalization;
using System.Text;
using KubeStack.Contracts.Catalog;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace KubeStack.Contracts.Crds;

/// <summary>The support state of one operation, from the hand-maintained docs/operations-status.yaml.</summary>
public sealed class OperationStatusEntry
{
    /// <summary>planned | implemented | tested on a real host | not possible on this host: &lt;why&gt;</summary>
    public string State { get; set; } = OperationStates.Planned;

    /// <summary>Fully qualified names (or Class.Method) of the tests that prove the state.</summary>
    public List<string> Tests { get; set; } = [];
}

public static class OperationStates
{
    public const string Planned = "planned";
    public const string Implemented = "implemented";
    public const string TestedOnRealHost = "tested on a real host";
    public const string NotPossiblePrefix = "not possible on this host:";
    /// <summary>Tested for real as far as this host allows; the rest needs a component this host lacks (named after the colon).</summary>
    public const string UpToComponentPrefix = "tested on a real host up to an unavailable component:";

    /// <summary>True for the states of issue 2 item 7 and issue 5 (the prefixed ones must say why).</summary>
    public static bool IsValid(string state) =>
        state is Planned or Implemented or TestedOnRealHost
        || HasReason(state, NotPossiblePrefix) || HasReason(state, UpToComponentPrefix);

    /// <summary>The group a state is counted in (the prefix of a state that carries a reason).</summary>
    public static string Group(string state) =>
        state.StartsWith(NotPossiblePrefix, StringComparison.Ordinal) ? NotPossiblePrefix.TrimEnd(':')
        : state.StartsWith(UpToComponentPrefix, StringComparison.Ordinal) ? UpToComponentPrefix.TrimEnd(':')
        : state;

    private static bool HasReason(string state, string prefix) =>
        state.StartsWith(prefix, StringComparison.Ordinal) && !string.IsNullOrWhiteSpace(state[prefix.Length..]);
}

/// <summary>
/// docs/operations.md: one row per operation (kind, key, state, tests), generated from the catalog merged with the
/// hand-maintained docs/operations-status.yaml (kind → operation key → state, tests). Later work updates the state
/// by editing the YAML file and running <c>make docs</c>.
/// </summary>
public static class OperationsTable
{
    public const string FileName = "operations.md";
    public const string StatusFileName = "operations-status.yaml";

    /// <summary>kind → operation key → entry.</summary>
    public static Dictionary<string, Dictionary<string, OperationStatusEntry>> ParseStatus(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var deserializer = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build();
        return deserializer.Deserialize<Dictionary<string, Dictionary<string, OperationStatusEntry>>?>(yaml) ?? [];
    }

    /// <summary>Problems of a status file against the catalog: unknown kinds or keys, invalid states, empty entries.</summary>
    public static IReadOnlyList<string> Check(LifecycleCatalog catalog, Dictionary<string, Dictionary<string, OperationStatusEntry>> status)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(status);
        var problems = new List<string>();
        foreach (var (kind, entries) in status)
        {
            if (!catalog.Kinds.Any(k => k.Kind == kind))
            {
                problems.Add($"{StatusFileName}: '{kind}' is not a kind of the catalog.");
                continue;
            }

            foreach (var (key, entry) in entries ?? [])
            {
                if (catalog.Find(kind, key) is null)
                {
                    problems.Add($"{StatusFileName}: '{kind}.{key}' is not an operation of the catalog.");
                }
                else if (entry is null || !OperationStates.IsValid(entry.State ?? ""))
                {
                    problems.Add($"{StatusFileName}: '{kind}.{key}' has state '{entry?.State}', expected planned, implemented, "
                        + $"tested on a real host, '{OperationStates.UpToComponentPrefix} <what>' or '{OperationStates.NotPossiblePrefix} <why>'.");
                }
            }
        }

        return problems;
    }

    /// <summary>A status file with every operation of the catalog in state planned and no tests (the starting point).</summary>
    public static string StatusTemplate(LifecycleCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var yaml = new StringBuilder();
        yaml.Append("""
            # Hand-maintained: the support state of every operation and the tests that prove it.
            # `make docs` merges this file with the catalog into docs/operations.md (an operation missing here is planned).
            # state: planned | implemented | tested on a real host | not possible on this host: <why>
            # tests: names of the tests that prove the state (Namespace.Class.Method).


            """);
        foreach (var kind in catalog.Kinds)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"{kind.Kind}:\n");
            foreach (var op in catalog.OperationsOf(kind.Kind))
            {
                yaml.Append(CultureInfo.InvariantCulture, $"  {op.Key}:\n    state: {OperationStates.Planned}\n    tests: []\n");
            }
        }

        return yaml.ToString();
    }

    /// <summary>Renders docs/operations.md. Throws when the status file does not match the catalog.</summary>
    public static string Build(LifecycleCatalog catalog, Dictionary<string, Dictionary<string, OperationStatusEntry>> status)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(status);
        var problems = Check(catalog, status);
        if (problems.Count > 0)
        {
            throw new InvalidDataException(string.Join(Environment.NewLine, problems));
        }

        var rows = catalog.Operations
            .Select(op => (op, entry: status.GetValueOrDefault(op.Kind)?.GetValueOrDefault(op.Key) ?? new OperationStatusEntry()))
            .ToList();
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture,
            $"<!-- Generated by tools/KubeStack.Gen from {Generated.Source} and docs/{StatusFileName}. "
            + $"DO NOT EDIT: change docs/{StatusFileName}, then run `{ApiDocsBuilder.Command}`. -->\n");
        md.Append(CultureInfo.InvariantCulture, $"""
            # Operations: support table

            One row per lifecycle operation ({rows.Count} in all). **State** is one of `planned`, `implemented`,
            `tested on a real host`, `tested on a real host up to an unavailable component: <what>`, or
            `not possible on this host: <why>`; **Tests** names the tests that prove it.
            To change a row, edit [`docs/{StatusFileName}`]({StatusFileName}) and run `{ApiDocsBuilder.Command}`.
            Parameters and constraints of each operation: [`docs/api/`](api/README.md).


            """);
        var counts = rows.GroupBy(r => StateGroup(r.entry.State)).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Count()} {g.Key}");
        md.Append(CultureInfo.InvariantCulture, $"Summary: {string.Join(", ", counts)}.\n\n");
        md.Append("| Kind | Section | Operation key | State | Tests |\n|---|---|---|---|---|\n");
        foreach (var (op, entry) in rows)
        {
            var kind = catalog.Kind(op.Kind);
            var link = $"api/{ApiDocsBuilder.PageName(kind)}#{ApiDocsBuilder.Anchor(op)}";
            var tests = entry.Tests is { Count: > 0 } t ? string.Join("<br>", t.Select(n => $"`{Cell(n)}`")) : "";
            md.Append(CultureInfo.InvariantCulture,
                $"| {op.Kind} | {Cell(op.Section)} | [`{op.Key}`]({link}) | {Cell(entry.State)} | {tests} |\n");
        }

        return md.ToString();
    }

    private static string StateGroup(string state) => OperationStates.Group(state);

    private static string Cell(string text) =>
        string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Replace("|", "\\|", StringComparison.Ordinal);
}
