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

    private static IReadOnlyList<ValidationError> Validate(OperationSpec op, JsonObject spec) => RequestValidator.Validate(op.Kind, Name, spec);

    [Fact]
    public void Every_operation_key_rejects_unknown_keys_two_lifecycle_keys_wrong_shapes_and_huge_objects()
    {
        var ran = 0;
        var failures = new List<string>();
        foreach (var op in CatalogLoader.Default.Operations)
        {
            var baselineErrors = Validate(op, HostileCases.Spec(op.Key, HostileCases.Baseline(op)));
            Assert.True(baselineErrors.Count == 0,
                $"{op.Key}: the baseline built from the catalog examples is not valid: {string.Join("; ", baselineErrors.Select(e => e.Message))}");
            foreach (var c in HostileCases.ShapeCases(op))
            {
                ran++;
                if (Validate(op, c.Spec).Count == 0)
                {
                    failures.Add($"{c.Label} was accepted");
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
        foreach (var c in CatalogLoader.Default.Operations.SelectMany(op => HostileCases.ParameterCases(op)))
        {
            ran++;
            IReadOnlyList<ValidationError> errors;
            try
            {
                errors = Validate(c.Operation, c.Spec);
            }
            catch (Exception ex)
            {
                failures.Add($"{c.Label}: validation threw {ex.GetType().Name}");
                continue;
            }

            if (errors.Count > 0)
            {
                rejected++;
                if (!HostileCases.NamesField(errors, c.Parameter!))
                {
                    failures.Add($"{c.Label}: the rejection does not name the field: {errors[0].Field}: {errors[0].Message}");
                }

                continue;
            }

            var p = c.Operation.Parameter(c.Parameter!)!;
            if (c.Kind != HostileCaseKind.HostileString)
            {
                failures.Add($"{c.Label} accepted");
            }
            else if (!HostileCases.RuleAllows(p, c.Text!))
            {
                failures.Add($"{c.Label} (rule {p.Rule!.Pattern ?? "enum/range/length"}) accepted against its own rule");
            }
            else
            {
                inert++;
                if (c.Text!.StartsWith('-'))
                {
                    optionLike.Add($"{c.Operation.Key}.{c.Parameter}");
                }
            }
        }

        output.WriteLine($"{ran} parameter cases: {rejected} rejected at admission, {inert} accepted as free text (inert data)");
        output.WriteLine($"parameters that accept a value starting with '-' (safe only after '--' or as a non-option argument): {string.Join(", ", optionLike)}");
        failures.ForEach(output.WriteLine);
        Assert.True(ran >= 3_000, $"only {ran} cases ran");
        Assert.Empty(failures);
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
                Assert.False(result.IsSafe, $"{HostileCases.Show(path)} was resolved to {result.FullPath}");
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
