namespace KubeStack.Contracts.Formats;

public enum DiskDevice
{
    Disk,
    Cdrom,
}

/// <summary>One disk of the <c>disk</c> parameter of createAndStartVMFromISO / createAndStartVMFromImage.</summary>
/// <param name="Path">Image or ISO file (checked with the path rule).</param>
/// <param name="Target">Target device (<c>vda</c>, <c>hdc</c>, ...) or null to let the builder pick the next free one.</param>
/// <param name="Bus">virtio, ide, sata, scsi or usb; null to deduce it from the target (vd → virtio, hd → ide, sd → sata).</param>
/// <param name="Format">Image format (qcow2 or raw); null means qcow2 for disks and raw for CD-ROMs.</param>
/// <param name="Size">Size in GiB for virt-install compatibility (the disk is created by a disk operation, not here).</param>
public sealed record DiskSpec(
    string Path,
    DiskDevice Device,
    string? Target,
    string? Bus,
    string? Format,
    bool ReadOnly,
    bool Shareable,
    string? Cache,
    long? ReadBytesSec,
    long? WriteBytesSec,
    long? TotalBytesSec,
    long? ReadIopsSec,
    long? WriteIopsSec,
    long? TotalIopsSec,
    decimal? Size)
{
    public bool HasIoTune => ReadBytesSec is not null || WriteBytesSec is not null || TotalBytesSec is not null ||
                             ReadIopsSec is not null || WriteIopsSec is not null || TotalIopsSec is not null;
}

/// <summary>
/// Format <c>diskList</c>: <c>PATH[,key=value]... [--disk PATH[,key=value]...]...</c> — the first disk needs no
/// <c>--disk</c> (a leading one is accepted), the following ones do. Keys: <c>target</c> (vdX|hdX|sdX),
/// <c>device</c> (disk|cdrom), <c>bus</c>, <c>format</c> (qcow2|raw), <c>perms</c> (rw|ro|sh), <c>cache</c>,
/// <c>size</c> (GiB), <c>read_bytes_sec</c>, <c>write_bytes_sec</c>, <c>total_bytes_sec</c>, <c>read_iops_sec</c>,
/// <c>write_iops_sec</c>, <c>total_iops_sec</c>. The path may also be written <c>path=PATH</c>.
/// </summary>
public static class DiskListFormat
{
    public const string Name = "diskList";
    public const long MaxBytesPerSecond = 9_999_999_999;
    public const long MaxIopsPerSecond = 9_999_999_999;

    private static readonly string[] Buses = ["virtio", "ide", "sata", "scsi", "usb"];
    private static readonly string[] Formats = ["qcow2", "raw"];
    private static readonly string[] Caches = ["none", "writethrough", "directsync", "unsafe", "writeback"];

    public static FormatResult<IReadOnlyList<DiskSpec>> Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        var disks = new List<DiskSpec>();
        if (string.IsNullOrWhiteSpace(value))
        {
            return FormatResult<IReadOnlyList<DiskSpec>>.Fail(["The disk list is empty; give at least one disk path."]);
        }

        var items = FormatSyntax.SplitOnFlag(value, "--disk");
        for (var i = 0; i < items.Count; i++)
        {
            var disk = ParseItem(items[i], i + 1, errors);
            if (disk is not null)
            {
                disks.Add(disk);
            }
        }

        foreach (var group in disks.Where(d => d.Target is not null).GroupBy(d => d.Target, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"The target '{group.Key}' is used by {group.Count()} disks; each disk needs its own target.");
        }
        return FormatResult<IReadOnlyList<DiskSpec>>.From(disks, errors);
    }

    private static DiskSpec? ParseItem(string item, int index, List<string> errors)
    {
        var label = $"Disk {index}";
        if (item.Length == 0)
        {
            errors.Add($"{label} is empty (check the '--disk' separators).");
            return null;
        }
        if (item.Any(char.IsWhiteSpace))
        {
            errors.Add($"{label} ('{SeedPaths.Shorten(item)}') contains whitespace; separate disks with ' --disk ' and options with ','.");
            return null;
        }

        var tokens = FormatSyntax.Tokens(item);
        string? path = null;
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var token in tokens)
        {
            if (token.Key is null)
            {
                if (token.Position == 1)
                {
                    path = token.Value;
                }
                else
                {
                    errors.Add($"{label}: option {token.Position} ('{token.Value}') is not of the form key=value.");
                }
                continue;
            }
            if (token.Key == "path" && path is null)
            {
                path = token.Value;
                continue;
            }
            if (!options.TryAdd(token.Key, token.Value))
            {
                errors.Add($"{label}: the option '{token.Key}' is given more than once.");
            }
        }

        if (path is null)
        {
            errors.Add($"{label} does not start with a file path.");
            return null;
        }
        label = $"Disk {index} ('{SeedPaths.Shorten(path)}')";
        var pathProblem = SeedPaths.Problem(path);
        if (pathProblem is not null)
        {
            errors.Add($"{label}: the path {pathProblem}.");
        }

        var before = errors.Count;
        var device = DiskDevice.Disk;
        string? target = null, bus = null, format = null, cache = null;
        bool readOnly = false, shareable = false;
        long? readBytes = null, writeBytes = null, totalBytes = null, readIops = null, writeIops = null, totalIops = null;
        decimal? size = null;

        foreach (var (key, raw) in options)
        {
            switch (key)
            {
                case "device":
                    if (raw == "disk")
                    {
                        device = DiskDevice.Disk;
                    }
                    else if (raw == "cdrom")
                    {
                        device = DiskDevice.Cdrom;
                    }
                    else
                    {
                        errors.Add($"{label}: device must be disk or cdrom (got '{raw}').");
                    }
                    break;
                case "target":
                    if (DiskTargets.IsValid(raw))
                    {
                        target = raw;
                    }
                    else
                    {
                        errors.Add($"{label}: target must be vdX, hdX or sdX with X a lowercase letter (got '{raw}').");
                    }
                    break;
                case "bus":
                    if (Buses.Contains(raw))
                    {
                        bus = raw;
                    }
                    else
                    {
                        errors.Add($"{label}: bus must be one of {string.Join(", ", Buses)} (got '{raw}').");
                    }
                    break;
                case "format":
                    if (Formats.Contains(raw))
                    {
                        format = raw;
                    }
                    else
                    {
                        errors.Add($"{label}: format must be qcow2 or raw (got '{raw}').");
                    }
                    break;
                case "perms":
                    switch (raw)
                    {
                        case "rw":
                            break;
                        case "ro":
                            readOnly = true;
                            break;
                        case "sh":
                            shareable = true;
                            break;
                        default:
                            errors.Add($"{label}: perms must be rw, ro or sh (got '{raw}').");
                            break;
                    }
                    break;
                case "cache":
                    if (Caches.Contains(raw))
                    {
                        cache = raw;
                    }
                    else
                    {
                        errors.Add($"{label}: cache must be one of {string.Join(", ", Caches)} (got '{raw}').");
                    }
                    break;
                case "size":
                    if (decimal.TryParse(raw, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var gib) && gib > 0 && gib <= 10240)
                    {
                        size = gib;
                    }
                    else
                    {
                        errors.Add($"{label}: size must be a number of GiB above 0 and at most 10240 (got '{raw}').");
                    }
                    break;
                case "read_bytes_sec":
                    readBytes = Rate(label, key, raw, MaxBytesPerSecond, errors);
                    break;
                case "write_bytes_sec":
                    writeBytes = Rate(label, key, raw, MaxBytesPerSecond, errors);
                    break;
                case "total_bytes_sec":
                    totalBytes = Rate(label, key, raw, MaxBytesPerSecond, errors);
                    break;
                case "read_iops_sec":
                    readIops = Rate(label, key, raw, MaxIopsPerSecond, errors);
                    break;
                case "write_iops_sec":
                    writeIops = Rate(label, key, raw, MaxIopsPerSecond, errors);
                    break;
                case "total_iops_sec":
                    totalIops = Rate(label, key, raw, MaxIopsPerSecond, errors);
                    break;
                default:
                    errors.Add($"{label}: unknown option '{key}'; allowed: target, device, bus, format, perms, cache, size, " +
                               "read_bytes_sec, write_bytes_sec, total_bytes_sec, read_iops_sec, write_iops_sec, total_iops_sec.");
                    break;
            }
        }

        if (errors.Count > before)
        {
            return null;
        }

        if (target is not null && bus is not null && !DiskTargets.CompatibleBuses(target).Contains(bus))
        {
            errors.Add($"{label}: target {target} does not fit bus {bus}; {target[..2]}X targets use {string.Join(" or ", DiskTargets.CompatibleBuses(target))}.");
        }
        if (device == DiskDevice.Cdrom)
        {
            if (bus == "virtio" || (target is not null && target.StartsWith("vd", StringComparison.Ordinal)))
            {
                errors.Add($"{label}: a CD-ROM cannot be on the virtio bus; use an hdX (ide) or sdX (sata/scsi) target.");
            }
            if (shareable || options.GetValueOrDefault("perms") == "rw")
            {
                errors.Add($"{label}: a CD-ROM is read-only; perms must be ro (or omitted).");
            }
            readOnly = true;
        }
        if (totalBytes is not null && (readBytes is not null || writeBytes is not null))
        {
            errors.Add($"{label}: total_bytes_sec cannot be combined with read_bytes_sec or write_bytes_sec (libvirt rejects it).");
        }
        if (totalIops is not null && (readIops is not null || writeIops is not null))
        {
            errors.Add($"{label}: total_iops_sec cannot be combined with read_iops_sec or write_iops_sec (libvirt rejects it).");
        }
        if (errors.Count > before || pathProblem is not null)
        {
            return null;
        }
        return new DiskSpec(path, device, target, bus, format, readOnly, shareable, cache,
            readBytes, writeBytes, totalBytes, readIops, writeIops, totalIops, size);
    }

    private static long? Rate(string label, string key, string raw, long max, List<string> errors)
    {
        if (FormatSyntax.TryParseInt64(raw, 0, max, out var value))
        {
            return value;
        }
        errors.Add($"{label}: {key} must be a whole number from 0 to {max} (got '{raw}').");
        return null;
    }
}
