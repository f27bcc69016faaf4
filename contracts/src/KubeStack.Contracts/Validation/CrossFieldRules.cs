using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Catalog;

namespace KubeStack.Contracts.Validation;

/// <summary>
/// Rules between parameters of one request that an OpenAPI schema cannot express. They see only parameters that
/// passed their own rule, so one mistake gives one error.
/// </summary>
internal static class CrossFieldRules
{
    private static readonly string[] FtpParameters = ["remote", "port", "username", "password"];

    /// <param name="valid">Parameters that passed their own rule.</param>
    /// <param name="present">Every parameter given (valid or not), so a bad value is not also reported as missing.</param>
    public static IEnumerable<ValidationError> Check(ValidationContext context, OperationSpec operation, IReadOnlyDictionary<string, JsonNode> valid, IReadOnlySet<string> present)
    {
        var r = new Request(context, operation, valid, present);
        var errors = new List<ValidationError>();
        AffectFlags(r, errors);
        QosExclusive(r, errors, "total_bytes_sec", "read_bytes_sec", "write_bytes_sec");
        QosExclusive(r, errors, "total_iops_sec", "read_iops_sec", "write_iops_sec");
        FtpGroup(r, errors);
        switch (operation.Key)
        {
            case "changeNumberOfCPU": CpuTopology(r, errors); break;
            case "manageISO":
                if (r.Bool("eject") == true && r.Bool("insert") == true)
                {
                    errors.Add(r.Error("eject", RuleIds.Exclusive, "cannot be true together with insert (eject or insert the CD-ROM, not both)"));
                }

                break;
            case "updateGraphic":
                if (r.Has("password") && r.Bool("no_password") == true)
                {
                    errors.Add(r.Error("no_password", RuleIds.Exclusive, "cannot be true together with a password (set a password or remove it, not both)"));
                }

                break;
            case "plugNIC": PlugNicSource(r, errors); break;
            case "createPool": CreatePool(r, errors); break;
            case "cleanVMBackup" or "cleanVMRemoteBackup":
                if (r.Given("version") == (r.Bool("all") == true) && (r.Has("version") || !r.Given("version")))
                {
                    errors.Add(r.Error("version", RuleIds.OneOf, "must be given unless all is true, and not together with all=true (clean listed versions or all of them)"));
                }

                break;
            case "passthroughDevice": DeviceAddress(r, errors); break;
            case "createSwitch": SwitchAddresses(r, errors); break;
        }

        return errors;
    }

    private sealed class Request(ValidationContext context, OperationSpec operation, IReadOnlyDictionary<string, JsonNode> valid, IReadOnlySet<string> present)
    {
        public OperationSpec Operation => operation;

        /// <summary>Given and valid.</summary>
        public bool Has(string name) => valid.ContainsKey(name);

        /// <summary>Given, valid or not.</summary>
        public bool Given(string name) => present.Contains(name);

        public bool? Bool(string name) =>
            valid.TryGetValue(name, out var v) && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? v.GetValue<bool>() : null;

        public string? Str(string name) =>
            valid.TryGetValue(name, out var v) && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

        public long? Int(string name) => Str(name) is { } s && ParameterValues.TryParseInteger(s, out var n) ? n : null;

        public ValidationError Error(string parameter, string rule, string problem)
        {
            var spec = operation.Parameter(parameter);
            var secret = spec?.Secret ?? false;
            var shown = valid.TryGetValue(parameter, out var v)
                ? (v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString())
                : null;
            return context.Parameter(parameter, secret, rule, problem, shown);
        }
    }

    /// <summary>libvirt's VIR_DOMAIN_AFFECT_CURRENT cannot be combined with LIVE or CONFIG (decision exclusive-flags).</summary>
    private static void AffectFlags(Request r, List<ValidationError> errors)
    {
        if (r.Bool("current") != true)
        {
            return;
        }

        var others = new[] { "live", "config", "hotpluggable" }.Where(n => r.Bool(n) == true).ToList();
        if (others.Count > 0)
        {
            errors.Add(r.Error("current", RuleIds.Exclusive,
                $"cannot be true together with {string.Join(" and ", others)} (current already means live for a running VM and config for a stopped one)"));
        }
    }

    /// <summary>libvirt refuses a total limit together with the read or write limit of the same kind.</summary>
    private static void QosExclusive(Request r, List<ValidationError> errors, string total, string read, string write)
    {
        if (!r.Has(total))
        {
            return;
        }

        var both = new[] { read, write }.Where(r.Has).ToList();
        if (both.Count > 0)
        {
            errors.Add(r.Error(total, RuleIds.Exclusive, $"cannot be set together with {string.Join(" and ", both)}"));
        }
    }

    /// <summary>Where the FTP parameters are optional they come as a group (decision ftp-parameters).</summary>
    private static void FtpGroup(Request r, List<ValidationError> errors)
    {
        var spec = r.Operation.Parameter("remote");
        if (spec is null || spec.Required || !FtpParameters.Any(r.Has))
        {
            return;
        }

        foreach (var missing in new[] { "remote", "username", "password" }.Where(n => !r.Given(n) && r.Operation.Parameter(n) is not null))
        {
            var given = string.Join(", ", FtpParameters.Where(r.Has));
            errors.Add(r.Error(missing, RuleIds.RequiredWith,
                $"is required because the FTP parameter(s) {given} are given (remote, username and password go together; port defaults to 21)"));
        }
    }

    /// <summary>maximum vCPUs = cores × sockets × threads (decisions cpu-topology, cpu-maximum-flag).</summary>
    private static void CpuTopology(Request r, List<ValidationError> errors)
    {
        var topology = new[] { "cores", "sockets", "threads" };
        var given = topology.Where(r.Has).ToList();
        var maximum = r.Bool("maximum") == true;
        if (maximum && (r.Bool("live") == true || r.Bool("hotpluggable") == true))
        {
            errors.Add(r.Error("maximum", RuleIds.Exclusive, "cannot be true together with live or hotpluggable (the maximum vCPU count changes only in the persistent configuration)"));
        }

        if (given.Count == 0 && !maximum)
        {
            return;
        }

        var missing = topology.Where(t => !r.Given(t)).ToList();
        if (missing.Count > 0)
        {
            var why = maximum ? "maximum is true" : $"{string.Join(" and ", given)} is given";
            foreach (var m in missing)
            {
                errors.Add(r.Error(m, RuleIds.RequiredWith, $"is required because {why} (cores, sockets and threads define the maximum vCPU count together)"));
            }

            return;
        }

        if (topology.Any(t => !r.Has(t)))
        {
            return; // an invalid one is already reported
        }

        var product = r.Int("cores")!.Value * r.Int("sockets")!.Value * r.Int("threads")!.Value;
        var count = r.Int("count");
        if (count is null)
        {
            return;
        }

        var p = product.ToString(CultureInfo.InvariantCulture);
        if (maximum && count != product)
        {
            errors.Add(r.Error("count", RuleIds.CpuTopology,
                $"must equal cores × sockets × threads = {p} because maximum is true (the maximum vCPU count is the topology's size)"));
        }
        else if (!maximum && count > product)
        {
            errors.Add(r.Error("count", RuleIds.CpuTopology,
                $"must not exceed cores × sockets × threads = {p}, the maximum vCPU count of that topology"));
        }
    }

    private static void PlugNicSource(Request r, List<ValidationError> errors)
    {
        if (r.Str("source") is not { } s || r.Str("type") is not { } type || type == "l3bridge")
        {
            return;
        }

        var source = KubeStack.Contracts.Formats.NicSourceFormat.Parse(s).Value;
        if (source is not null && (source.Ip is not null || source.Switch is not null))
        {
            errors.Add(r.Error("source", RuleIds.L3BridgeOnly, $"may set ip= and switch= only when type is l3bridge, not {type}"));
        }
    }

    /// <summary>The pool URL and mount options by pool type (decision createpool-fields).</summary>
    private static void CreatePool(Request r, List<ValidationError> errors)
    {
        var type = r.Str("type");
        if (type is null)
        {
            return;
        }

        if (r.Str("url") is { } url)
        {
            var problem = type switch
            {
                "dir" or "localfs" => PathRule.Check(url).FirstOrDefault()
                                      ?? (url.Length is < 18 or > 1024 ? "must be 18 to 1024 characters long" : null),
                "nfs" => CheckRemoteExport(url, requireAbsolute: true),
                "glusterfs" => CheckRemoteExport(url, requireAbsolute: false),
                "uus" => System.Text.RegularExpressions.Regex.IsMatch(url, "^uus-[a-z0-9-]+://[^ ]+$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(100))
                    ? null
                    : "must be the cloud storage URL shown by cstor-cli pool-list, uus-<kind>://...",
                _ => null,
            };
            if (problem is not null)
            {
                errors.Add(r.Error("url", RuleIds.PoolUrl, $"{problem} for a {type} pool"));
            }
        }

        var needsOptions = type is "uus" or "nfs" or "glusterfs";
        if (needsOptions && !r.Given("opt"))
        {
            errors.Add(r.Error("opt", RuleIds.PoolOptions, $"is required for a {type} pool (mount or creation options, e.g. nolock)"));
        }
        else if (!needsOptions && r.Has("opt"))
        {
            errors.Add(r.Error("opt", RuleIds.PoolOptions, $"must be left out for a {type} pool; it applies only to uus, nfs and glusterfs pools"));
        }
    }

    private static string? CheckRemoteExport(string url, bool requireAbsolute)
    {
        var colon = url.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !NetworkFormats.IsHost(url[..colon]))
        {
            return "must be HOST:EXPORT with an IPv4 address or host name before the ':'";
        }

        var export = url[(colon + 1)..];
        if (requireAbsolute && !export.StartsWith('/'))
        {
            return "must name an absolute export path after the ':' (HOST:/export/path)";
        }

        var segments = export.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0 || segments.Any(s => s is "." or ".." || !s.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
        {
            return "must name the export or volume with letters, digits, '.', '_', '-' and '/' only, without '.' or '..' segments";
        }

        return null;
    }

    /// <summary>Host device numbers by device type (decision passthrough-numbers).</summary>
    private static void DeviceAddress(Request r, List<ValidationError> errors)
    {
        var type = r.Str("dev_type");
        if (type == "pci")
        {
            Check("bus_num", 16, 0xff, "a PCI bus number from 00 to ff (hex)");
            Check("sub_bus_num", 16, 0x1f, "a PCI slot number from 00 to 1f (hex)");
            Check("dev_num", 16, 0x7, "a PCI function number from 0 to 7");
        }
        else if (type == "usb")
        {
            Check("bus_num", 10, 999, "a USB bus number from 1 to 999 (decimal, as lsusb shows it)", min: 1);
            Check("dev_num", 10, 127, "a USB device number from 1 to 127 (decimal, as lsusb shows it)", min: 1);
        }

        void Check(string name, int radix, int max, string what, int min = 0)
        {
            if (r.Str(name) is not { } s)
            {
                return;
            }

            var ok = radix == 16
                ? int.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var n)
                : int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out n);
            if (!ok || n < min || n > max)
            {
                errors.Add(r.Error(name, RuleIds.DeviceAddress, $"must be {what} for dev_type {type}"));
            }
        }
    }

    /// <summary>The gateway, DHCP address and exclusions of a switch lie in its subnet.</summary>
    private static void SwitchAddresses(Request r, List<ValidationError> errors)
    {
        if (r.Str("subnet") is not { } subnet || !NetworkFormats.TryParseCidr(subnet, out var network, out var prefix))
        {
            return;
        }

        foreach (var name in new[] { "gateway", "dhcp" })
        {
            if (r.Str(name) is { } a && NetworkFormats.TryParseIpv4(a, out var address) && !NetworkFormats.Contains(network, prefix, address))
            {
                errors.Add(r.Error(name, RuleIds.InSubnet, $"must lie in the subnet {subnet}"));
            }
        }

        if (r.Str("excludeIPs") is { } excluded
            && NetworkFormats.ParseExcludeList(excluded).Any(x => !NetworkFormats.Contains(network, prefix, x.From) || !NetworkFormats.Contains(network, prefix, x.To)))
        {
            errors.Add(r.Error("excludeIPs", RuleIds.InSubnet, $"must list only addresses of the subnet {subnet}"));
        }
    }
}
