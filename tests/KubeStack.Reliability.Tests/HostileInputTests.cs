using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Validation;
using Xunit.Abstractions;

namespace KubeStack.Reliability.Tests;

/// <summary>
/// A generator of invalid requests for every operation key of the catalog, run through admission (RequestValidator,
/// what the operator's webhook calls): each case is rejected with an error naming the field, or, for free-text
/// parameters, accepted as inert data; validation never throws.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output)
{
    private const string Name = "hostile-object";

    /// <summary>Strings that are syntax to a shell, a path resolver, a line-based protocol or a SQL/XML parser.</summary>
    public static readonly string[] HostileStrings =
    [
        "../../../../etc/shadow", "/var/lib/libvirt/../../../etc/passwd", "a;reboot", "$(reboot)", "`id`", "a|nc -l 4444", "a && rm -rf /",
        "a\nb", "a\r\nInjected: header", "name\u0000tail", "' OR '1'='1", "<xml attr='x'/>", "-rf", "--help", "%s%s%s%n", "é\u202Egnp.exe",
        "", " ", new string('a', 70_000),
    ];

    private static readonly Dictionary<(string Key, string Parameter), JsonNode> Consistent = new()
    {
        [("createPool", "url")] = JsonValue.Create("/var/lib/libvirt/pools/pooltest"),
        [("plugNIC", "type")] = JsonValue.Create("l3bridge"),
        [("cleanVMBackup", "version")] = JsonValue.Create("13024b305b5c463b80bceee066077079"),
        [("cleanVMRemoteBackup", "version")] = JsonValue.Create("13024b305b5c463b80bceee066077079"),
    };

    private static JsonNode Valid(ParameterSpec p)
    {
        var text = p.Rule is { ExampleInvalid: true, ValidExample: { } valid } ? valid : p.Example;
        return p.Type == ParameterType.Boolean
            ? JsonValue.Create(p.Rule?.Format == FormatRegistry.MustBeTrue)
            : JsonValue.Create(text);
    }

    /// <summary>Every required parameter at its documented valid value (and the documented cross-field fixes).</summary>
    private static JsonObject Baseline(OperationSpec op)
    {
        var body = new JsonObject();
        foreach (var p in op.Parameters.Where(p => p.Required))
        {
            body[p.Name] = Valid(p);
        }

        foreach (var ((key, name), value) in Consistent.Where(c => c.Key.Key == op.Key))
        {
            body[name] = value.DeepClone();
        }

        return body;
    }

    private static JsonObject Spec(string key, JsonNode parameters) => new() { ["lifecycle"] = new JsonObject { [key] = parameters } };

    private static IReadOnlyList<ValidationError> Validate(OperationSpec op, JsonObject spec) => RequestValidator.Validate(op.Kind, Name, spec);

    private static JsonObject With(OperationSpec op, string parameter, JsonNode? value)
    {
        var body = Baseline(op);
        body[parameter] = value;
        return Spec(op.Key, body);
    }

    private sealed record Outcome(string Case, IReadOnlyList<ValidationError> Errors);

    [Fact]
    public void Every_operation_key_rejects_unknown_keys_two_lifecycle_keys_wrong_shapes_and_huge_objects()
    {
        var ran = 0;
        var failures = new List<string>();
        foreach (var op in CatalogLoader.Default.Operations)
        {
            Assert.True(Validate(op, Spec(op.Key, Baseline(op))).Count == 0,
                $"{op.Key}: the baseline built from the catalog examples is not valid: {string.Join("; ", Validate(op, Spec(op.Key, Baseline(op))).Select(e => e.Message))}");
            var other = CatalogLoader.Default.OperationsOf(op.Kind).First(o => o.Key != op.Key);
            var unknown = Baseline(op);
            unknown["zzUnknownKey"] = "x";
            var huge = Baseline(op);
            for (var i = 0; i < 2_000; i++)
            {
                huge[$"k{i}"] = new string('x', 100);
            }

            var cases = new (string Case, JsonObject Spec)[]
            {
                ("unknown key", Spec(op.Key, unknown)),
                ("two lifecycle keys", new JsonObject { ["lifecycle"] = new JsonObject { [op.Key] = Baseline(op), [other.Key] = Baseline(other) } }),
                ("parameters as a string", Spec(op.Key, JsonValue.Create("a;reboot"))),
                ("parameters as an array", Spec(op.Key, new JsonArray(1, 2))),
                ("2,000 extra keys", Spec(op.Key, huge)),
                ("lifecycle as a string", new JsonObject { ["lifecycle"] = "deleteVM" }),
            };
            foreach (var (name, spec) in cases)
            {
                ran++;
                if (Validate(op, spec).Count == 0)
                {
                    failures.Add($"{op.Key}: {name} was accepted");
                }
            }
        }

        output.WriteLine($"{ran} object-level hostile cases over {CatalogLoader.Default.Operations.Count} operation keys");
        failures.ForEach(output.WriteLine);
        Assert.Empty(failures);
        Assert.True(ran >= 600);
    }

    [Fact]
    public void Every_parameter_of_every_operation_rejects_wrong_types_and_hostile_strings_or_keeps_them_as_inert_free_text()
    {
        var ran = 0;
        var rejected = 0;
        var inert = 0;
        var failures = new List<string>();
        var optionLike = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var op in CatalogLoader.Default.Operations)
        {
            foreach (var p in op.Parameters)
            {
                var wrongTypes = p.Type == ParameterType.Boolean
                    ? new JsonNode?[] { JsonValue.Create("maybe"), JsonValue.Create(2), new JsonObject(), new JsonArray() }
                    : [JsonValue.Create(42), JsonValue.Create(true), new JsonObject { ["a"] = 1 }, new JsonArray("a")];
                foreach (var value in wrongTypes)
                {
                    ran++;
                    var errors = Validate(op, With(op, p.Name, value));
                    if (errors.Count == 0)
                    {
                        failures.Add($"{op.Key}.{p.Name}: wrong type {value?.ToJsonString()} accepted");
                    }
                    else
                    {
                        rejected++;
                        AssertNamesField(errors, p.Name, op.Key, failures);
                    }
                }

                if (p.Type == ParameterType.Boolean)
                {
                    continue;
                }

                foreach (var text in HostileStrings)
                {
                    ran++;
                    IReadOnlyList<ValidationError> errors;
                    try
                    {
                        errors = Validate(op, With(op, p.Name, JsonValue.Create(text)));
                    }
                    catch (Exception ex)
                    {
                        failures.Add($"{op.Key}.{p.Name}: validation threw {ex.GetType().Name} on {Show(text)}");
                        continue;
                    }

                    if (errors.Count > 0)
                    {
                        rejected++;
                        AssertNamesField(errors, p.Name, op.Key, failures);
                    }
                    else if (!RuleAllows(p, text))
                    {
                        failures.Add($"{op.Key}.{p.Name} (rule {p.Rule!.Pattern ?? "enum/range/length"}): {Show(text)} accepted against its own rule");
                    }
                    else
                    {
                        inert++;
                        if (text.StartsWith('-'))
                        {
                            optionLike.Add($"{op.Key}.{p.Name}");
                        }
                    }
                }

                if (p.Rule?.Range is [var min, var max])
                {
                    foreach (var outside in new[] { min - 1, max + 1, long.MaxValue })
                    {
                        ran++;
                        if (outside is var v && (v < min || v > max) && Validate(op, With(op, p.Name, JsonValue.Create(v.ToString(System.Globalization.CultureInfo.InvariantCulture)))).Count == 0)
                        {
                            failures.Add($"{op.Key}.{p.Name}: {v} outside [{min}, {max}] accepted");
                        }
                        else
                        {
                            rejected++;
                        }
                    }
                }
            }
        }

        output.WriteLine($"{ran} parameter cases: {rejected} rejected at admission, {inert} accepted as free text (inert data)");
        output.WriteLine($"parameters that accept a value starting with '-' (safe only after '--' or as a non-option argument): {string.Join(", ", optionLike)}");
        failures.ForEach(output.WriteLine);
        Assert.True(ran >= 3_000, $"only {ran} cases ran");
        Assert.Empty(failures);
    }

    /// <summary>
    /// What the parameter's declared rule allows (enum, pattern, lengths, range); a value it allows is data the handlers
    /// must pass as one argument (no shell: CliWrap argument arrays), so accepting it is correct. Format rules decide themselves.
    /// </summary>
    private static bool RuleAllows(ParameterSpec p, string text)
    {
        if (p.Rule is not { } rule)
        {
            return true;
        }

        if (rule.Enum is { } values && !values.Contains(text))
        {
            return false;
        }

        if (rule.Pattern is { } pattern && !System.Text.RegularExpressions.Regex.IsMatch(text, pattern))
        {
            return false;
        }

        if ((rule.MaxLength is { } max && text.Length > max) || (rule.MinLength is { } min && text.Length < min))
        {
            return false;
        }

        return rule.Range is not [var lo, var hi]
            || (long.TryParse(text.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= lo && n <= hi);
    }

    private static string Show(string text) => text.Length > 40 ? $"a {text.Length}-character string" : System.Text.Json.JsonSerializer.Serialize(text);

    private static void AssertNamesField(IReadOnlyList<ValidationError> errors, string parameter, string key, List<string> failures)
    {
        if (!errors.Any(e => e.Field.Contains(parameter, StringComparison.Ordinal) || e.Message.Contains(parameter, StringComparison.Ordinal)))
        {
            failures.Add($"{key}.{parameter}: the rejection does not name the field: {errors[0].Field}: {errors[0].Message}");
        }
    }

    [Fact]
    public void Paths_through_symlinks_out_of_the_allowed_root_and_traversals_are_refused_by_SafePath()
    {
        var root = Directory.CreateTempSubdirectory("kst-hostile-").FullName;
        try
        {
            var pool = Directory.CreateDirectory(Path.Combine(root, "pool")).FullName;
            File.CreateSymbolicLink(Path.Combine(pool, "escape"), "/etc");
            File.CreateSymbolicLink(Path.Combine(pool, "disk.qcow2"), "/etc/passwd");
            File.WriteAllText(Path.Combine(pool, "ok.qcow2"), "");
            var roots = new[] { pool };
            var hostile = new[]
            {
                Path.Combine(pool, "escape", "passwd"), Path.Combine(pool, "disk.qcow2"), Path.Combine(pool, "..", "outside.qcow2"),
                pool + "/../../etc/passwd", "relative/disk.qcow2", pool + "/a\nb.qcow2", pool + "/$(reboot).qcow2\0", "/etc/passwd",
            };
            foreach (var path in hostile)
            {
                var result = SafePath.TryResolve(path, roots);
                Assert.False(result.IsSafe, $"{Show(path)} was resolved to {result.FullPath}");
            }

            Assert.True(SafePath.TryResolve(Path.Combine(pool, "ok.qcow2"), roots).IsSafe);
            output.WriteLine($"{hostile.Length} hostile paths refused");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
