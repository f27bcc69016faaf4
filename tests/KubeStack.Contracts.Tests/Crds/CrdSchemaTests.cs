using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Crds;
using KubeStack.Contracts.Resources;

namespace KubeStack.Contracts.Tests.Crds;

/// <summary>The committed CRDs (issue 2 item 4), read back from crds/*.yaml.</summary>
public class CrdSchemaTests
{
    private static readonly LifecycleCatalog Catalog = CatalogLoader.Default;

    public static TheoryData<string> KindNames() => new(Kinds.All);

    [Theory]
    [MemberData(nameof(KindNames))]
    public void Crd_schema_is_structural(string kind)
    {
        var problems = StructuralSchema.Problems(CommittedCrds.Schema(CommittedCrds.Of(kind)));
        Assert.True(problems.Count == 0, $"{kind}: the schema is not structural:\n  " + string.Join("\n  ", problems));
    }

    [Theory]
    [MemberData(nameof(KindNames))]
    public void Crd_names_scope_and_version_match_the_catalog(string kind)
    {
        var crd = CommittedCrds.Of(kind);
        var spec = Catalog.Kind(kind);
        Assert.Equal("apiextensions.k8s.io/v1", (string?)crd["apiVersion"]);
        Assert.Equal("CustomResourceDefinition", (string?)crd["kind"]);
        Assert.Equal($"{spec.Plural}.doslab.io", (string?)crd["metadata"]!["name"]);
        Assert.Equal("doslab.io", (string?)crd["spec"]!["group"]);
        Assert.Equal("Namespaced", (string?)crd["spec"]!["scope"]);
        var names = crd["spec"]!["names"]!;
        Assert.Equal(kind, (string?)names["kind"]);
        Assert.Equal(kind + "List", (string?)names["listKind"]);
        Assert.Equal(spec.Plural, (string?)names["plural"]);
        Assert.Equal(spec.Singular, (string?)names["singular"]);
        Assert.Equal(spec.ShortNames, Strings(names["shortNames"]));
        Assert.Equal(["kubestack"], Strings(names["categories"]));
        var versions = (JsonArray)crd["spec"]!["versions"]!;
        Assert.Single(versions);
        var version = CommittedCrds.Version(crd);
        Assert.Equal("v1", (string?)version["name"]);
        Assert.True((bool?)version["served"]);
        Assert.True((bool?)version["storage"]);
        Assert.IsType<JsonObject>(version["subresources"]?["status"]);
    }

    [Theory]
    [MemberData(nameof(KindNames))]
    public void Crd_fits_in_the_last_applied_annotation_so_client_side_kubectl_apply_works(string kind)
    {
        // kubectl apply (client-side) stores the whole object in an annotation; annotations are capped at 256 KiB.
        var json = CommittedCrds.Of(kind).ToJsonString();
        Assert.True(json.Length < 256 * 1024 - 4096, $"{kind}: the CRD is {json.Length} bytes as JSON; shorten descriptions");
    }

    [Fact]
    public void Short_names_are_unique_and_do_not_take_kubevirts_vmi()
    {
        var shortNames = Catalog.Kinds.SelectMany(k => Strings(CommittedCrds.Of(k.Kind)["spec"]!["names"]!["shortNames"])).ToList();
        Assert.Equal(shortNames.Count, shortNames.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain("vmi", shortNames);
    }

    [Fact]
    public void The_8_crds_hold_all_110_operation_keys_with_all_their_parameters()
    {
        var inCrds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (kind, crd) in CommittedCrds.All)
        {
            foreach (var (key, op) in (JsonObject)CommittedCrds.Lifecycle(crd)["properties"]!)
            {
                inCrds.Add($"{kind}.{key}");
                foreach (var (parameter, _) in op!["properties"] as JsonObject ?? [])
                {
                    inCrds.Add($"{kind}.{key}.{parameter}");
                }
            }
        }

        var inCatalog = Catalog.Operations.Select(o => $"{o.Kind}.{o.Key}")
            .Concat(Catalog.Operations.SelectMany(o => o.Parameters.Select(p => $"{o.Kind}.{o.Key}.{p.Name}")))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Equal(110, Catalog.Operations.Count);
        Assert.Equal(8, CommittedCrds.All.Count());
        Assert.Empty(inCatalog.Except(inCrds).Order(StringComparer.Ordinal));
        Assert.Empty(inCrds.Except(inCatalog).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(KindNames))]
    public void Lifecycle_takes_at_most_one_operation_and_keeps_unknown_keys_for_admission_to_reject(string kind)
    {
        var lifecycle = CommittedCrds.Lifecycle(CommittedCrds.Of(kind));
        Assert.Equal("object", (string?)lifecycle["type"]);
        Assert.Equal(1, (int?)lifecycle["maxProperties"]);
        Assert.True((bool?)lifecycle["x-kubernetes-preserve-unknown-fields"]);
        Assert.All((JsonObject)lifecycle["properties"]!, op =>
        {
            Assert.Equal("object", (string?)op.Value!["type"]);
            Assert.True((bool?)op.Value["x-kubernetes-preserve-unknown-fields"], $"{kind}.{op.Key} would prune unknown parameters before admission");
            Assert.Null(op.Value["additionalProperties"]);
        });
    }

    [Fact]
    public void Every_parameter_schema_carries_the_catalogs_type_required_and_constraints()
    {
        var problems = new List<string>();
        foreach (var op in Catalog.Operations)
        {
            var schema = (JsonObject)CommittedCrds.Lifecycle(CommittedCrds.Of(op.Kind))["properties"]![op.Key]!;
            var required = Strings(schema["required"]);
            if (!required.SequenceEqual(op.Parameters.Where(p => p.Required).Select(p => p.Name)))
            {
                problems.Add($"{op.Kind}.{op.Key}: required [{string.Join(",", required)}]");
            }

            Assert.Contains(op.Section, (string?)schema["description"], StringComparison.Ordinal);
            foreach (var p in op.Parameters)
            {
                var where = $"{op.Kind}.{op.Key}.{p.Name}";
                var ps = (JsonObject)schema["properties"]![p.Name]!;
                Expect(problems, where, "type", p.Type == ParameterType.Boolean ? "boolean" : "string", (string?)ps["type"]);
                Expect(problems, where, "description", true, !string.IsNullOrWhiteSpace((string?)ps["description"]));
                var rule = p.Rule is { Todo: false } r && p.Type == ParameterType.String ? r : null;
                var pattern = rule?.Pattern ?? (rule?.Range is { Count: 2 } && rule.Format is null
                    ? (rule.Range[0] < 0 ? CrdBuilder.SignedDigitsPattern : CrdBuilder.DigitsPattern)
                    : null);
                Expect(problems, where, "pattern", pattern, (string?)ps["pattern"]);
                Expect(problems, where, "enum", string.Join("|", rule?.Enum ?? []), string.Join("|", Strings(ps["enum"])));
                Expect(problems, where, "minLength", rule?.MinLength, (int?)ps["minLength"]);
                Expect(problems, where, "maxLength", rule?.MaxLength, (int?)ps["maxLength"]);
                Expect(problems, where, "minimum", null, ps["minimum"]?.ToJsonString());
                if (rule?.Range is { Count: 2 } range)
                {
                    Expect(problems, where, "range in description", true,
                        ((string?)ps["description"])!.Contains($"Range {range[0]}..{range[1]}", StringComparison.Ordinal));
                }
            }
        }

        Assert.True(problems.Count == 0, "Parameter schemas differ from the catalog (run `make crds`):\n  " + string.Join("\n  ", problems));
    }

    [Fact]
    public void Patterns_are_re2_compatible_so_the_api_server_accepts_them()
    {
        var unsupported = new Regex(@"\(\?[=!<>]|\(\?<?[A-Za-z]|\\[1-9]|\\k<|[*+?}]\+|\(\?>");
        var patterns = CommittedCrds.All.SelectMany(c => Nodes(CommittedCrds.Schema(c.Crd)))
            .Select(n => (string?)n["pattern"]).OfType<string>().Distinct().ToList();
        Assert.NotEmpty(patterns);
        Assert.All(patterns, p =>
        {
            Assert.False(unsupported.IsMatch(p), $"pattern {p} uses a construct Go's RE2 rejects (lookaround, backreference, atomic or possessive)");
            _ = new Regex(p);
        });
    }

    [Theory]
    [MemberData(nameof(KindNames))]
    public void Printer_columns_show_node_request_phase_reason_ready_and_age(string kind)
    {
        var columns = ((JsonArray)CommittedCrds.Version(CommittedCrds.Of(kind))["additionalPrinterColumns"]!)
            .Select(c => (Name: (string)c!["name"]!, Path: (string)c["jsonPath"]!, Type: (string)c["type"]!, Priority: (int?)c["priority"] ?? 0))
            .ToList();
        var atAGlance = columns.Where(c => c.Priority == 0).Select(c => c.Name).ToList();
        var expected = kind == Kinds.VirtualMachine
            ? new[] { "Node", "Power", "Request", "Phase", "Reason", "Ready", "Age" }
            : ["Node", "Request", "Phase", "Reason", "Ready", "Age"];
        Assert.Equal(expected, atAGlance);
        Assert.Equal(columns.Count, columns.Select(c => c.Name).Distinct().Count());
        Assert.All(columns, c => Assert.Contains(c.Type, new[] { "string", "integer", "number", "boolean", "date" }));
        Assert.Contains(columns, c => c.Name == "Age" && c.Path == ".metadata.creationTimestamp" && c.Type == "date");
        Assert.Contains(columns, c => c.Name == "Ready" && c.Path == ".status.conditions[?(@.type==\"Ready\")].status");

        // every .status path a column reads is a field of the status schema
        var status = CommittedCrds.Status(CommittedCrds.Of(kind));
        foreach (var column in columns.Where(c => c.Path.StartsWith(".status.", StringComparison.Ordinal) && !c.Path.Contains('[', StringComparison.Ordinal)))
        {
            JsonNode? node = status;
            foreach (var segment in column.Path[".status.".Length..].Split('.'))
            {
                node = node?["properties"]?[segment];
            }

            Assert.True(node is not null, $"column {column.Name} reads {column.Path}, which the status schema does not define");
        }
    }

    [Theory]
    [MemberData(nameof(KindNames))]
    public void Status_schema_has_exactly_the_fields_of_KubeStackStatus(string kind)
    {
        var status = CommittedCrds.Status(CommittedCrds.Of(kind));
        Assert.Equal(JsonNames<KubeStackStatus>(), PropertyNames(status));
        var lifecycle = (JsonObject)status["properties"]!["lifecycle"]!;
        Assert.Equal(JsonNames<LifecycleRecord>(), PropertyNames(lifecycle));
        Assert.Equal(Enum.GetNames<RequestPhase>(), Strings(lifecycle["properties"]!["phase"]!["enum"]));
        var conditions = (JsonObject)status["properties"]!["conditions"]!;
        Assert.Equal("array", (string?)conditions["type"]);
        Assert.Equal("map", (string?)conditions["x-kubernetes-list-type"]);
        Assert.Equal(JsonNames<ResourceCondition>(), PropertyNames((JsonObject)conditions["items"]!));
        Assert.Equal("integer", (string?)status["properties"]!["observedGeneration"]!["type"]);
        Assert.Equal("integer", (string?)lifecycle["properties"]!["attempts"]!["type"]);
        Assert.Equal("date-time", (string?)lifecycle["properties"]!["startTime"]!["format"]);
    }

    [Theory]
    [MemberData(nameof(KindNames))]
    public void Spec_keeps_the_observed_result_view_and_the_seed_status(string kind)
    {
        var spec = CommittedCrds.Spec(CommittedCrds.Of(kind));
        var properties = (JsonObject)spec["properties"]!;
        var resultKey = Catalog.Kind(kind).ResultKey;
        Assert.Equal("string", (string?)properties["nodeName"]!["type"]);
        Assert.Equal(253, (int?)properties["nodeName"]!["maxLength"]);
        Assert.Equal("object", (string?)properties[resultKey]!["type"]);
        Assert.True((bool?)properties[resultKey]!["x-kubernetes-preserve-unknown-fields"]);
        Assert.True((bool?)spec["x-kubernetes-preserve-unknown-fields"]);
        var seedStatus = (JsonObject)properties["status"]!;
        Assert.True((bool?)seedStatus["x-kubernetes-preserve-unknown-fields"]);
        Assert.Equal(JsonNames<SeedStatus>(), PropertyNames(seedStatus));
        Assert.Equal("integer", (string?)seedStatus["properties"]!["code"]!["type"]);
        Assert.NotNull(seedStatus["properties"]!["conditions"]!["properties"]!["state"]!["properties"]!["waiting"]!["properties"]!["reason"]);
        Assert.Equal(kind == Kinds.VirtualMachine, properties.ContainsKey("powerstate"));
        Assert.Equal(kind == Kinds.VirtualMachineNetwork, properties.ContainsKey("type"));
        // every spec field the schema names is a field of KubeStackSpec
        Assert.Subset(JsonNames<KubeStackSpec>().ToHashSet(), PropertyNames(spec).ToHashSet());
    }

    [Fact]
    public void Issue_golden_createDisk_request_passes_the_schema_and_keeps_an_extra_parameter_for_admission()
    {
        var schema = CommittedCrds.Schema(CommittedCrds.Of(Kinds.VirtualMachineDisk));
        var golden = Request("""{"nodeName":"node31","lifecycle":{"createDisk":{"type":"localfs","pool":"pooltest","capacity":"10737418240","format":"qcow2"}}}""");
        var ok = SchemaCheck.Validate(schema, golden);
        Assert.Empty(ok.Errors);
        Assert.Empty(ok.Pruned);

        var extra = Request("""{"nodeName":"node31","lifecycle":{"createDisk":{"type":"localfs","pool":"pooltest","capacity":"10737418240","format":"qcow2","foo":"bar"}}}""");
        var withExtra = SchemaCheck.Validate(schema, extra);
        Assert.Empty(SchemaCheck.Validate(schema, Request("""{"nodeName":"node-31.example","lifecycle":{}}""")).Errors);
        Assert.Contains(SchemaCheck.Validate(schema, Request("""{"nodeName":"Node_31","lifecycle":{}}""")).Errors,
            e => e.StartsWith(".spec.nodeName:", StringComparison.Ordinal));
        Assert.Empty(withExtra.Errors);
        Assert.Empty(withExtra.Pruned); // kept, so the validating webhook sees and rejects spec.lifecycle.createDisk.foo
    }

    [Fact]
    public void Schema_rejects_two_operations_a_missing_required_parameter_a_wrong_type_and_a_bad_enum()
    {
        var schema = CommittedCrds.Schema(CommittedCrds.Of(Kinds.VirtualMachineDisk));
        var two = SchemaCheck.Validate(schema, Request("""{"lifecycle":{"createDisk":{"type":"localfs","pool":"pooltest","capacity":"10737418240","format":"qcow2"},"deleteDisk":{"type":"localfs","pool":"pooltest"}}}"""));
        Assert.Contains(two.Errors, e => e.StartsWith(".spec.lifecycle: has 2 properties", StringComparison.Ordinal));

        var missing = SchemaCheck.Validate(schema, Request("""{"lifecycle":{"createDisk":{"type":"localfs","pool":"pooltest","format":"qcow2"}}}"""));
        Assert.Contains(".spec.lifecycle.createDisk.capacity: Required value", missing.Errors);

        var number = SchemaCheck.Validate(schema, Request("""{"lifecycle":{"createDisk":{"type":"localfs","pool":"pooltest","capacity":10737418240,"format":"qcow2"}}}"""));
        Assert.Contains(number.Errors, e => e.StartsWith(".spec.lifecycle.createDisk.capacity: must be of type string", StringComparison.Ordinal));

        var format = SchemaCheck.Validate(schema, Request("""{"lifecycle":{"createDisk":{"type":"localfs","pool":"pooltest","capacity":"10737418240","format":"vmdk"}}}"""));
        Assert.Contains(format.Errors, e => e.StartsWith(".spec.lifecycle.createDisk.format:", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_documented_example_resource_passes_its_crd_schema()
    {
        var problems = new List<string>();
        foreach (var op in Catalog.Operations)
        {
            var kind = Catalog.Kind(op.Kind);
            var outcome = SchemaCheck.Validate(CommittedCrds.Schema(CommittedCrds.Of(op.Kind)), ApiDocsBuilder.ExampleResource(kind, op));
            problems.AddRange(outcome.Errors.Concat(outcome.Pruned.Select(p => p + ": pruned")).Select(e => $"{op.Kind}.{op.Key}{e}"));
        }

        Assert.True(problems.Count == 0, "Examples rejected by the CRD schema:\n  " + string.Join("\n  ", problems));
    }

    [Fact]
    public void Structural_check_reports_what_the_api_server_would_reject()
    {
        var bad = JsonNode.Parse("""
            {"type":"object","properties":{
              "a":{"description":"no type"},
              "b":{"type":"object","properties":{"x":{"type":"string"}},"additionalProperties":{"type":"string"}},
              "c":{"type":"object","additionalProperties":false},
              "d":{"type":"array","items":{"type":"string"},"uniqueItems":true},
              "e":{"$ref":"#/definitions/x","type":"string"},
              "f":{"type":"string","enum":[true]},
              "g":{"type":"object","required":["missing"],"properties":{}}}}
            """);
        var problems = StructuralSchema.Problems(bad);
        Assert.Contains(problems, p => p.Contains("properties.a: no type", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("properties.b: additionalProperties and properties are mutually exclusive", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("properties.c: additionalProperties: false is forbidden", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("properties.d: uniqueItems: true is forbidden", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("properties.e: '$ref' is forbidden", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("properties.f: enum value true is not of type string", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("properties.g: required 'missing'", StringComparison.Ordinal));
    }

    private static JsonObject Request(string specJson) => new()
    {
        ["apiVersion"] = "doslab.io/v1",
        ["kind"] = Kinds.VirtualMachineDisk,
        ["metadata"] = new JsonObject { ["name"] = "disk1", ["labels"] = new JsonObject { ["host"] = "node31" } },
        ["spec"] = JsonNode.Parse(specJson),
    };

    private static void Expect<T>(List<string> problems, string where, string what, T expected, T actual)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            problems.Add($"{where}: {what} expected '{expected}', found '{actual}'");
        }
    }

    private static IEnumerable<JsonObject> Nodes(JsonObject schema)
    {
        yield return schema;
        foreach (var child in (schema["properties"] as JsonObject ?? []).Select(p => p.Value).Append(schema["items"]).OfType<JsonObject>())
        {
            foreach (var node in Nodes(child))
            {
                yield return node;
            }
        }
    }

    private static List<string> Strings(JsonNode? node) =>
        node is JsonArray array ? array.Select(n => n!.GetValue<string>()).ToList() : [];

    private static List<string> PropertyNames(JsonObject schema) =>
        (schema["properties"] as JsonObject ?? []).Select(p => p.Key).Order(StringComparer.Ordinal).ToList();

    private static List<string> JsonNames<T>() =>
        typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToList();
}
