using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Resources;
using KubeStack.Contracts.Validation;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachineNetwork;

/// <summary>The network handlers' host access: Open vSwitch (ovs-vsctl) and the OVN northbound database (ovn-nbctl).</summary>
public sealed class NetworkHost(OvsVsctl ovs, OvnNbctl ovn)
{
    public NetworkHost() : this(OvsVsctl.Default, OvnNbctl.Default)
    {
    }

    public OvsVsctl Ovs { get; } = ovs;
    public OvnNbctl Ovn { get; } = ovn;

    /// <summary>Where the host's NIC information lives (/sys/class/net, /proc/net/route); tests may point elsewhere.</summary>
    public string SysClassNet { get; init; } = "/sys/class/net";
    public string ProcNetRoute { get; init; } = "/proc/net/route";

    public bool NicExists(string nic) => Directory.Exists(Path.Combine(SysClassNet, nic));

    /// <summary>The interfaces that carry an IPv4 default route (destination 00000000 in /proc/net/route).</summary>
    public IReadOnlySet<string> DefaultRouteNics()
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (!File.Exists(ProcNetRoute)) return set;
        foreach (var line in File.ReadLines(ProcNetRoute).Skip(1))
        {
            var f = line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length > 2 && f[1] == "00000000") set.Add(f[0]);
        }
        return set;
    }
}

/// <summary>A network handler refuses or fails the request with a given error class and a full-sentence message.</summary>
public sealed class NetworkRefusedException(string errorClass, string message) : Exception(message)
{
    public string ErrorClass { get; } = errorClass;
}

/// <summary>
/// How the network handlers map failures to the seed's error classes (docs/networking.md): a request this node
/// refuses before touching OVS/OVN (bad parameter or rule, missing switch/port/bridge, duplicate object, the
/// default-route NIC) → <c>VirtctlError</c>; OVS/OVN tools not installed → <c>VirtctlError</c>; an ovs-vsctl/ovn-nbctl
/// call that failed → <c>Exception</c> (the transaction was rolled back by the database: nothing half-made).
/// </summary>
public static class NetworkFailures
{
    public static NetworkRefusedException Refused(string message) => new(ErrorClasses.VirtctlError, message);

    public static async Task<HandlerResult> GuardAsync(string what, string node, Func<Task<HandlerResult>> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (NetworkRefusedException ex)
        {
            return HandlerResult.Failed(ex.ErrorClass, $"{what} was refused on node {node}: {ex.Message}");
        }
        catch (HostToolException ex) when (ex.IsToolMissing)
        {
            return HandlerResult.Failed(ErrorClasses.VirtctlError,
                $"{what} cannot run on node {node}: {ex.Tool} is not installed (install openvswitch-switch and ovn-central/ovn-host, or run lab/lab-up.sh ovs ovn).");
        }
        catch (HostToolException ex)
        {
            return HandlerResult.Failed(ErrorClasses.Exception,
                $"{what} failed on node {node}: {ex.Message}. The database transaction was not applied; check that ovsdb-server/ovs-vswitchd and the OVN databases run.",
                retryable: ex.Stderr.Contains("database connection failed", StringComparison.OrdinalIgnoreCase));
        }
    }
}

/// <summary>Typed readings of the network operations' parameters (the operator validates too; this is the backstop).</summary>
public static class NetworkParameters
{
    public static string? Optional(JsonObject p, string key)
    {
        ArgumentNullException.ThrowIfNull(p);
        return p[key] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>() is { Length: > 0 } s ? s.Trim() : null,
            JsonValue v when v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.ToJsonString(),
            var other => throw NetworkFailures.Refused($"{key} must be a string, not a {other.GetValueKind()}; nothing was changed."),
        };
    }

    public static string Required(JsonObject p, string key, string op) =>
        Optional(p, key) ?? throw NetworkFailures.Refused($"{op}.{key} is required and missing; nothing was changed.");

    public static int? Integer(JsonObject p, string key, string op, long min, long max)
    {
        var text = Optional(p, key);
        if (text is null) return null;
        if (!ParameterValues.TryParseInteger(text, out var v))
            throw NetworkFailures.Refused($"{op}.{key} must be a whole number, not '{text}'; nothing was changed.");
        if (v < min || v > max)
            throw NetworkFailures.Refused($"{op}.{key} must be from {min} to {max}, not {v}; nothing was changed.");
        return (int)v;
    }

    public static string Ipv4(JsonObject p, string key, string op, bool required)
    {
        var text = required ? Required(p, key, op) : Optional(p, key);
        if (text is null) return null!;
        if (!NetworkFormats.IsIpv4(text))
            throw NetworkFailures.Refused($"{op}.{key} must be an IPv4 address a.b.c.d, not '{text}'; nothing was changed.");
        return text;
    }

    public static string Mac(JsonObject p, string key, string op)
    {
        var text = Required(p, key, op);
        if (!NetworkFormats.TryParseMac(text, out _))
            throw NetworkFailures.Refused($"{op}.{key} must be a MAC address like 52:54:00:12:34:56, not '{text}'; nothing was changed.");
        return text.ToLowerInvariant();
    }

    public static string Enum(JsonObject p, string key, string op, bool required, params string[] allowed)
    {
        var text = required ? Required(p, key, op) : Optional(p, key);
        if (text is null) return null!;
        if (!allowed.Contains(text, StringComparer.Ordinal))
            throw NetworkFailures.Refused($"{op}.{key} must be one of {string.Join(", ", allowed)}, not '{text}'; nothing was changed.");
        return text;
    }

    /// <summary>An ACL rule, checked with the validation library's AclRule before it reaches OVN.</summary>
    public static string AclRuleText(JsonObject p, string key, string op, bool required)
    {
        var text = required ? Required(p, key, op) : Optional(p, key);
        if (text is null) return null!;
        var problems = AclRule.Check(text);
        if (problems.Count > 0)
            throw NetworkFailures.Refused($"{op}.{key} '{text}' {string.Join("; ", problems)}; nothing was changed.");
        return text;
    }

    /// <summary>IPv4 addresses (or a.b.c.d/p subnets) of a ','/'，' separated list.</summary>
    public static IReadOnlyList<string> AddressList(string text, string key, string op)
    {
        var items = NetworkFormats.SplitList(text).Where(s => s.Length > 0).ToList();
        if (items.Count == 0) throw NetworkFailures.Refused($"{op}.{key} is empty; give IPv4 addresses separated by ','; nothing was changed.");
        foreach (var i in items)
        {
            if (!NetworkFormats.IsIpv4(i) && !NetworkFormats.TryParseCidr(i, out _, out _))
                throw NetworkFailures.Refused($"{op}.{key} has '{i}', which is not an IPv4 address or subnet; nothing was changed.");
        }
        return items.Distinct(StringComparer.Ordinal).ToList();
    }

    public static string Owner(RequestContext context) => $"{context.Namespace}/{context.Name}";

    public static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);
}
