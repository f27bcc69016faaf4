using System.Globalization;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;
using KubeStack.Contracts.Validation;
using static KubeStack.Contracts.Tests.Validation.CatalogCases;

namespace KubeStack.Contracts.Tests.Validation;

/// <summary>
/// For every constrained parameter, violations generated from its rule (wrong JSON type, value outside the enum,
/// too short, too long, pattern breaker, out of range, format breaker) are rejected with a message that names the
/// resource, the operation, the parameter, the rule and (unless secret) the value.
/// </summary>
public class GeneratedViolationTests
{
    /// <summary>Values that satisfy each format's pattern and length but break the format itself.</summary>
    private static readonly Dictionary<string, string> FormatBreakers = new(StringComparer.Ordinal)
    {
        ["name"] = "-starts-with-dash",
        ["path"] = "/var/lib/libvirt/images/../../../etc/shadow",
        ["mac"] = "ff:ff:ff:ff:ff:ff",
        ["ipv4"] = "300.1.1.1",
        ["host"] = "300.1.1.1",
        ["ipv4List"] = "192.168.1.1,,192.168.1.2",
        ["cidr"] = "192.168.5.0/26",
        ["ipv4OptionalPrefix"] = "192.168.5.2/33",
        ["excludeIps"] = "192.168.5.10..192.168.5.2",
        ["aclRule"] = "ip4.src == 1.2.3.4 && nosuch.field == 1",
        ["metadataUuid"] = "uuid=abcdefghijkl",
        ["redirdev"] = "usb,type=tcp,server=192.168.1.1:70000",
        ["storageList"] = "vda,/etc/libvirt/qemu/vm1.xml",
        ["nicSource"] = "ip=192.168.5.2,source=br-int",
        ["fileList"] = "/var/lib/libvirt/images/a.qcow2 --file /etc/libvirt/qemu/x.xml",
        ["diskTargetList"] = "vda,hda,vda",
        ["sshPublicKey"] = "ssh-rsa QUFBQUFBQUFBQUFBQUFBQUFBQUFB root@node22",
        ["cloudInitUserData"] = "#cloud-config\nusers: [unclosed\n",
        ["graphics"] = "rdp,listen=0.0.0.0,password=abcdefg",
        ["diskList"] = "/etc/libvirt/qemu/vm1-disk.qcow2",
        ["networkList"] = "source=br-int,type=bridge",
        ["vcpus"] = "2,maxvcpus=40,cores=3,sockets=1,threads=1",
        ["cputune"] = "shares=many",
        ["migratedisks"] = "vol=/var/lib/libvirt/images/disk1.qcow2",
        ["diskspec"] = "vda,snapshot=sometimes",
    };

    [Fact]
    public void Every_format_of_the_catalog_has_a_generated_violation()
    {
        var formats = CatalogCases.Catalog.Operations.SelectMany(o => o.Parameters).Select(p => p.Rule?.Format).OfType<string>().Distinct();
        var untested = formats.Where(f => !FormatBreakers.ContainsKey(f) && f is not ("poolUrl" or FormatRegistry.MustBeTrue)).ToList();
        Assert.True(untested.Count == 0, $"Formats without a generated violation: {string.Join(", ", untested)}");
    }

    public static TheoryData<string, string, string, string> Violations()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var op in CatalogCases.Catalog.Operations)
        {
            foreach (var p in op.Parameters)
            {
                foreach (var rule in ViolationKinds(p))
                {
                    data.Add(op.Kind, op.Key, p.Name, rule);
                }
            }
        }

        return data;
    }

    private static IEnumerable<string> ViolationKinds(ParameterSpec p)
    {
        yield return RuleIds.Type;
        var r = p.Rule;
        if (r is null)
        {
            yield break;
        }

        if (r.Format == FormatRegistry.MustBeTrue)
        {
            yield return FormatRegistry.MustBeTrue;
        }

        if (r.Enum is not null)
        {
            yield return RuleIds.Enum;
        }

        if (r.MinLength is > 0)
        {
            yield return RuleIds.MinLength;
        }

        if (r.MaxLength is not null)
        {
            yield return RuleIds.MaxLength;
        }

        if (r.Pattern is not null && PatternBreaker(p) is not null)
        {
            yield return RuleIds.Pattern;
        }

        if (r.Range is not null)
        {
            yield return "range-above";
            if (r.Range[0] > 0)
            {
                yield return "range-below";
            }
        }

        if (r.Format is { } f && FormatBreakers.ContainsKey(f))
        {
            yield return f;
        }
    }

    /// <summary>A value within the length bounds that breaks the pattern: a valid value with a foreign character.</summary>
    private static string? PatternBreaker(ParameterSpec p)
    {
        var valid = CatalogCases.ValidText(p);
        foreach (var foreign in new[] { "é", "!", " ", "\u0007" })
        {
            var candidate = valid.Length > 1 ? valid[..^1] + foreign : foreign + foreign;
            var length = candidate.EnumerateRunes().Count();
            if (length >= (p.Rule!.MinLength ?? 0) && length <= (p.Rule.MaxLength ?? int.MaxValue)
                && (p.Rule.Enum is null || !p.Rule.Enum.Contains(candidate))
                && !ParameterValidator.FullMatch(p.Rule.Pattern!, candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static (JsonNode Value, string ExpectedRule) Craft(ParameterSpec p, string violation)
    {
        var r = p.Rule;
        switch (violation)
        {
            case RuleIds.Type:
                return (p.Type == ParameterType.Boolean ? JsonValue.Create("true") : JsonValue.Create(12345), RuleIds.Type);
            case FormatRegistry.MustBeTrue:
                return (JsonValue.Create(false), FormatRegistry.MustBeTrue);
            case RuleIds.Enum:
                return (JsonValue.Create("not-an-allowed-value"), RuleIds.Enum);
            case RuleIds.MinLength:
                return (JsonValue.Create(new string('a', r!.MinLength!.Value - 1)), RuleIds.MinLength);
            case RuleIds.MaxLength:
                return (JsonValue.Create(new string('a', r!.MaxLength!.Value + 1)), RuleIds.MaxLength);
            case RuleIds.Pattern:
                return (JsonValue.Create(PatternBreaker(p)!), RuleIds.Pattern);
            case "range-above":
                return (JsonValue.Create((r!.Range![1] + 1).ToString(CultureInfo.InvariantCulture)), RuleIds.Range);
            case "range-below":
                return (JsonValue.Create((r!.Range![0] - 1).ToString(CultureInfo.InvariantCulture)), RuleIds.Range);
            default:
                return (JsonValue.Create(FormatBreakers[violation]), violation);
        }
    }

    [Theory]
    [MemberData(nameof(Violations))]
    public void Generated_violation_is_rejected_with_a_message_naming_parameter_rule_and_value(string kind, string key, string parameter, string violation)
    {
        var op = Operation(kind, key);
        var p = Parameter(kind, key, parameter);
        var (value, expectedRule) = Craft(p, violation);
        var body = BaselineParameters(op);
        body[parameter] = value;

        var errors = Validate(op, body);

        var error = Assert.Single(errors, e => e.Field == $"spec.lifecycle.{key}.{parameter}");
        Assert.Equal(expectedRule, error.Rule);
        Assert.Contains(kind, error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{ResourceName}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"operation '{key}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"parameter '{parameter}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"(rule {expectedRule})", error.Message, StringComparison.Ordinal);
        var raw = value.GetValueKind() == System.Text.Json.JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
        var shown = raw.Length > 50 ? raw[..50] : raw;
        if (p.Secret)
        {
            if (shown.Length > 0)
            {
                Assert.DoesNotContain(shown, error.Message, StringComparison.Ordinal);
            }

            Assert.Contains("secret", error.Message, StringComparison.Ordinal);
        }
        else if (!shown.Any(char.IsControl))
        {
            Assert.Contains(shown, error.Message, StringComparison.Ordinal);
        }

        Assert.EndsWith(".", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Operations), MemberType = typeof(CatalogCases))]
    public void Objects_arrays_and_huge_strings_in_every_parameter_give_errors_not_exceptions(string kind, string key)
    {
        var op = Operation(kind, key);
        foreach (var junk in new Func<JsonNode>[] { () => new JsonObject { ["a"] = 1 }, () => new JsonArray(1, "x"), () => JsonValue.Create(new string('9', 100_000)) })
        {
            var body = new JsonObject();
            foreach (var p in op.Parameters)
            {
                body[p.Name] = junk();
            }

            var errors = Validate(op, body);
            Assert.All(op.Parameters, p => Assert.Contains(errors, e => e.Field == $"spec.lifecycle.{key}.{p.Name}"));
            Assert.All(errors, e => Assert.True(e.Message.Length < 2000, $"{e.Field}: message of {e.Message.Length} characters"));
        }
    }

    [Theory]
    [MemberData(nameof(RequiredParameters))]
    public void Missing_required_parameter_is_rejected_by_name(string kind, string key, string parameter)
    {
        var op = Operation(kind, key);
        var body = BaselineParameters(op);
        body.Remove(parameter);

        var error = Assert.Single(Validate(op, body), e => e.Field == $"spec.lifecycle.{key}.{parameter}");

        Assert.Equal(RuleIds.Required, error.Rule);
        Assert.Contains($"parameter '{parameter}' of operation '{key}' is required", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> RequiredParameters() => Parameters(p => p.Required);

    [Theory]
    [MemberData(nameof(Operations), MemberType = typeof(CatalogCases))]
    public void Undocumented_parameter_is_rejected_without_echoing_its_value(string kind, string key)
    {
        var op = Operation(kind, key);
        var body = BaselineParameters(op);
        body["notDocumented"] = "hidden-value-42";

        var error = Assert.Single(Validate(op, body));

        Assert.Equal(RuleIds.UnknownParameter, error.Rule);
        Assert.Equal($"spec.lifecycle.{key}.notDocumented", error.Field);
        Assert.Contains("'notDocumented' is not documented", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hidden-value-42", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Operations), MemberType = typeof(CatalogCases))]
    public void Operation_submitted_on_another_kind_is_rejected_and_the_right_kind_is_named(string kind, string key)
    {
        var op = Operation(kind, key);
        var other = CatalogCases.Catalog.Kinds.Select(k => k.Kind).First(k => CatalogCases.Catalog.Find(k, key) is null);

        var errors = RequestValidator.Validate(other, ResourceName, Spec(key, BaselineParameters(op)));

        var error = Assert.Single(errors);
        Assert.Equal(RuleIds.WrongKind, error.Rule);
        Assert.Contains(kind, error.Message, StringComparison.Ordinal);
        Assert.Contains($"does not belong to {other}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Two_operation_keys_in_one_request_are_rejected(string kind)
    {
        var ops = CatalogCases.Catalog.OperationsOf(kind).Take(2).ToList();
        var spec = new JsonObject
        {
            ["lifecycle"] = new JsonObject
            {
                [ops[0].Key] = BaselineParameters(ops[0]),
                [ops[1].Key] = BaselineParameters(ops[1]),
            },
        };

        var error = Assert.Single(RequestValidator.Validate(kind, ResourceName, spec));

        Assert.Equal(RuleIds.SingleOperation, error.Rule);
        Assert.Contains(ops[0].Key, error.Message, StringComparison.Ordinal);
        Assert.Contains(ops[1].Key, error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> Kinds()
    {
        var data = new TheoryData<string>();
        foreach (var k in CatalogCases.Catalog.Kinds)
        {
            data.Add(k.Kind);
        }

        return data;
    }
}
