using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using KubeStack.Contracts.Formats;

namespace KubeStack.NodeAgent.Builders;

/// <summary>Which create operation the parameters came from.</summary>
public enum VmCreateKind
{
    /// <summary><c>createAndStartVMFromISO</c>: install from a CD image; boots from the CD-ROM first.</summary>
    FromIso,

    /// <summary><c>createAndStartVMFromImage</c>: the system disk already holds an OS; boots from the disk.</summary>
    FromImage,
}

public enum BootDevice
{
    Hd,
    Cdrom,
}

/// <summary>
/// The typed parameters of createAndStartVMFromISO / createAndStartVMFromImage (the catalog's table, identical for
/// both: anomaly A014), parsed with the seed format parsers of Contracts/Formats.
/// </summary>
public sealed record VmCreateParameters
{
    public required VmCreateKind Kind { get; init; }

    public VmMetadataSpec? Metadata { get; init; }

    public bool LiveCd { get; init; }

    public required GraphicsSpec Graphics { get; init; }

    public required IReadOnlyList<DiskSpec> Disks { get; init; }

    /// <summary>Memory in MiB (100-99999).</summary>
    public required int MemoryMiB { get; init; }

    public required IReadOnlyList<NicSpec> Nics { get; init; }

    /// <summary><c>virt_type</c>: kvm or xen; null lets the node configuration decide.</summary>
    public string? VirtType { get; init; }

    /// <summary>Boot order from <c>boot</c> (hd, cdrom, hd,cdrom, cdrom,hd); null for the operation's default.</summary>
    public IReadOnlyList<BootDevice>? Boot { get; init; }

    public RedirDevSpec? RedirDev { get; init; }

    public required string OsVariant { get; init; }

    public required VcpuSpec Vcpus { get; init; }

    /// <summary><c>cdrom</c>: install media attached as a CD-ROM.</summary>
    public string? Cdrom { get; init; }

    public CpuTuneSpec? CpuTune { get; init; }

    public static readonly IReadOnlySet<string> KnownKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "metadata", "livecd", "graphics", "disk", "memory", "network", "virt_type", "boot", "redirdev", "os_variant",
        "vcpus", "cdrom", "cputune", "noautoconsole",
    };

    /// <summary>
    /// Parses the operation's parameter object (<c>spec.lifecycle.createAndStartVMFromISO</c>). Strings are the wire
    /// form; numbers and booleans are accepted where the meaning is numeric or boolean.
    /// </summary>
    /// <exception cref="DomainBuildException">Parameters are missing or break their format (all problems listed).</exception>
    public static VmCreateParameters Parse(JsonObject parameters, VmCreateKind kind)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var errors = new List<string>();
        foreach (var (key, _) in parameters)
        {
            if (!KnownKeys.Contains(key))
            {
                errors.Add($"The parameter '{key}' is not documented for {OperationKey(kind)}.");
            }
        }

        var graphics = Required(parameters, "graphics", errors, GraphicsFormat.Parse);
        var disks = Required(parameters, "disk", errors, DiskListFormat.Parse);
        var nics = Required(parameters, "network", errors, NetworkListFormat.Parse);
        var vcpus = Required(parameters, "vcpus", errors, VcpusFormat.Parse);
        var metadata = Optional(parameters, "metadata", errors, MetadataUuidFormat.Parse);
        var redirdev = Optional(parameters, "redirdev", errors, RedirDevFormat.Parse);
        var cputune = Optional(parameters, "cputune", errors, CpuTuneFormat.Parse);

        var memory = 0;
        var memoryText = Text(parameters, "memory", errors);
        if (memoryText is null)
        {
            errors.Add("The parameter 'memory' (MiB) is required.");
        }
        else if (!int.TryParse(memoryText, NumberStyles.None, CultureInfo.InvariantCulture, out memory) || memory < 100 || memory > 99999)
        {
            errors.Add($"The parameter 'memory' must be a whole number of MiB from 100 to 99999 (got '{memoryText}').");
        }

        var osVariant = Text(parameters, "os_variant", errors);
        if (string.IsNullOrEmpty(osVariant))
        {
            errors.Add("The parameter 'os_variant' is required (e.g. centos7.0).");
        }

        var virtType = Text(parameters, "virt_type", errors);
        if (virtType is not null and not ("kvm" or "xen"))
        {
            errors.Add($"The parameter 'virt_type' must be kvm or xen (got '{virtType}').");
        }

        IReadOnlyList<BootDevice>? boot = null;
        var bootText = Text(parameters, "boot", errors);
        if (bootText is not null)
        {
            boot = ParseBoot(bootText, errors);
        }

        var liveCd = Bool(parameters, "livecd", errors) ?? false;
        var noAutoConsole = Bool(parameters, "noautoconsole", errors);
        if (noAutoConsole is false)
        {
            errors.Add("The parameter 'noautoconsole' must be true (the agent never attaches a console).");
        }

        var cdrom = Text(parameters, "cdrom", errors);
        if (cdrom is not null && SeedPaths.Problem(cdrom) is { } cdromProblem)
        {
            errors.Add($"The parameter 'cdrom' ('{cdrom}') {cdromProblem}.");
        }

        if (errors.Count > 0)
        {
            throw new DomainBuildException(errors);
        }
        return new VmCreateParameters
        {
            Kind = kind,
            Metadata = metadata,
            LiveCd = liveCd,
            Graphics = graphics!,
            Disks = disks!,
            MemoryMiB = memory,
            Nics = nics!,
            VirtType = virtType,
            Boot = boot,
            RedirDev = redirdev,
            OsVariant = osVariant!,
            Vcpus = vcpus!,
            Cdrom = cdrom,
            CpuTune = cputune,
        };
    }

    public static string OperationKey(VmCreateKind kind) =>
        kind == VmCreateKind.FromIso ? "createAndStartVMFromISO" : "createAndStartVMFromImage";

    private static List<BootDevice>? ParseBoot(string text, List<string> errors)
    {
        var devices = new List<BootDevice>();
        foreach (var part in text.Split(','))
        {
            BootDevice? device = part switch
            {
                "hd" => BootDevice.Hd,
                "cdrom" => BootDevice.Cdrom,
                _ => null,
            };
            if (device is null || devices.Contains(device.Value))
            {
                errors.Add($"The parameter 'boot' must be hd, cdrom, hd,cdrom or cdrom,hd (got '{text}').");
                return null;
            }
            devices.Add(device.Value);
        }
        return devices;
    }

    private static T? Required<T>(JsonObject parameters, string key, List<string> errors, Func<string, FormatResult<T>> parse)
        where T : class
    {
        var text = Text(parameters, key, errors);
        if (text is null)
        {
            errors.Add($"The parameter '{key}' is required.");
            return null;
        }
        return Apply(key, text, errors, parse);
    }

    private static T? Optional<T>(JsonObject parameters, string key, List<string> errors, Func<string, FormatResult<T>> parse)
        where T : class
    {
        var text = Text(parameters, key, errors);
        return text is null ? null : Apply(key, text, errors, parse);
    }

    private static T? Apply<T>(string key, string text, List<string> errors, Func<string, FormatResult<T>> parse)
        where T : class
    {
        var result = parse(text);
        foreach (var error in result.Errors)
        {
            errors.Add($"The parameter '{key}': {error}");
        }
        return result.Value;
    }

    private static string? Text(JsonObject parameters, string key, List<string> errors)
    {
        if (!parameters.TryGetPropertyValue(key, out var node) || node is null)
        {
            return null;
        }
        if (node is JsonValue value)
        {
            switch (value.GetValueKind())
            {
                case JsonValueKind.String:
                    return value.GetValue<string>();
                case JsonValueKind.Number:
                    return value.ToJsonString();
                case JsonValueKind.True:
                    return "true";
                case JsonValueKind.False:
                    return "false";
            }
        }
        errors.Add($"The parameter '{key}' must be a string.");
        return null;
    }

    private static bool? Bool(JsonObject parameters, string key, List<string> errors)
    {
        var text = Text(parameters, key, errors);
        switch (text)
        {
            case null:
                return null;
            case "true":
                return true;
            case "false":
                return false;
            default:
                errors.Add($"The parameter '{key}' must be true or false (got '{text}').");
                return null;
        }
    }
}

/// <summary>The request cannot be turned into a domain; <see cref="Problems"/> lists every reason as a full sentence.</summary>
public sealed class DomainBuildException : Exception
{
    public DomainBuildException()
        : this(["The domain could not be built."])
    {
    }

    public DomainBuildException(string message)
        : this([message])
    {
    }

    public DomainBuildException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = [message];
    }

    public DomainBuildException(IReadOnlyList<string> problems)
        : base(string.Join(" ", problems))
    {
        Problems = problems;
    }

    public IReadOnlyList<string> Problems { get; }
}
