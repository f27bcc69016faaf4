using System.Text.RegularExpressions;

namespace KubeStack.Contracts.Formats;

/// <summary>One <c>&lt;vcpupin vcpu=.. cpuset=..&gt;</c>.</summary>
public sealed record VcpuPin(int Vcpu, string CpuSet);

/// <summary>The <c>cputune</c> parameter (libvirt <c>&lt;cputune&gt;</c>).</summary>
public sealed record CpuTuneSpec(
    IReadOnlyList<VcpuPin> VcpuPins,
    string? EmulatorPinCpuSet,
    long? Shares,
    long? Period,
    long? Quota,
    long? EmulatorPeriod,
    long? EmulatorQuota);

/// <summary>
/// Format <c>cputune</c>: virt-install's <c>--cputune</c> option list:
/// <c>vcpupinN.vcpu=I,vcpupinN.cpuset=SET</c> (N = 0, 1, ...; both keys required per pin),
/// <c>emulatorpin.cpuset=SET</c>, <c>shares=</c>, <c>period=</c>, <c>quota=</c>, <c>emulator_period=</c>,
/// <c>emulator_quota=</c>. A cpuset may contain commas; bare tokens after a cpuset continue it.
/// The catalog's example <c>vcpupin0.vcpu=0</c> lacks the cpuset libvirt requires and is rejected with that reason.
/// </summary>
public static partial class CpuTuneFormat
{
    public const string Name = "cputune";

    public static FormatResult<CpuTuneSpec> Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        var pins = new SortedDictionary<int, (int? Vcpu, string? CpuSet)>();
        string? emulatorPin = null;
        long? shares = null, period = null, quota = null, emulatorPeriod = null, emulatorQuota = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? lastCpuSetKey = null;
        var tokens = FormatSyntax.Tokens(value.Trim());
        var cpuSets = new Dictionary<string, string>(StringComparer.Ordinal);

        foreach (var token in tokens)
        {
            if (token.Key is null)
            {
                if (lastCpuSetKey is not null && CpuSets.IsContinuation(token.Value))
                {
                    cpuSets[lastCpuSetKey] += "," + token.Value;
                }
                else
                {
                    errors.Add($"cputune item {token.Position} ('{SeedPaths.Shorten(token.Value)}') is not of the form key=value.");
                }
                continue;
            }
            lastCpuSetKey = null;
            if (!seen.Add(token.Key))
            {
                errors.Add($"cputune key '{token.Key}' is given more than once.");
                continue;
            }
            var pin = PinKey().Match(token.Key);
            if (pin.Success)
            {
                var n = int.Parse(pin.Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture);
                var entry = pins.GetValueOrDefault(n);
                if (pin.Groups["attr"].Value == "vcpu")
                {
                    if (FormatSyntax.TryParseInt32(token.Value, 0, VcpusFormat.MaxVcpus - 1, out var vcpu))
                    {
                        entry.Vcpu = vcpu;
                    }
                    else
                    {
                        errors.Add($"cputune {token.Key} must be a vCPU number from 0 to {VcpusFormat.MaxVcpus - 1} (got '{token.Value}').");
                    }
                }
                else
                {
                    cpuSets[token.Key] = token.Value;
                    lastCpuSetKey = token.Key;
                    entry.CpuSet = token.Key;
                }
                pins[n] = entry;
                continue;
            }
            switch (token.Key)
            {
                case "emulatorpin.cpuset":
                    cpuSets[token.Key] = token.Value;
                    lastCpuSetKey = token.Key;
                    emulatorPin = token.Key;
                    break;
                case "shares":
                    shares = Number(token, 2, 262144, errors);
                    break;
                case "period":
                    period = Number(token, 1000, 1000000, errors);
                    break;
                case "quota":
                    quota = Quota(token, errors);
                    break;
                case "emulator_period":
                    emulatorPeriod = Number(token, 1000, 1000000, errors);
                    break;
                case "emulator_quota":
                    emulatorQuota = Quota(token, errors);
                    break;
                default:
                    errors.Add($"cputune has the unknown key '{token.Key}'; allowed: vcpupinN.vcpu, vcpupinN.cpuset, " +
                               "emulatorpin.cpuset, shares, period, quota, emulator_period, emulator_quota.");
                    break;
            }
        }

        foreach (var (key, set) in cpuSets)
        {
            var problem = CpuSets.Problem(set);
            if (problem is not null)
            {
                errors.Add($"cputune {key} '{set}' {problem}.");
            }
        }
        var result = new List<VcpuPin>();
        foreach (var (n, entry) in pins)
        {
            if (entry.Vcpu is null || entry.CpuSet is null)
            {
                var missing = entry.Vcpu is null ? "vcpu" : "cpuset";
                errors.Add($"cputune vcpupin{n} needs both vcpupin{n}.vcpu and vcpupin{n}.cpuset (libvirt requires the host CPU set); {missing} is missing.");
                continue;
            }
            result.Add(new VcpuPin(entry.Vcpu.Value, cpuSets[entry.CpuSet]));
        }
        foreach (var group in result.GroupBy(p => p.Vcpu).Where(g => g.Count() > 1))
        {
            errors.Add($"cputune pins vCPU {group.Key} more than once.");
        }
        if (errors.Count > 0)
        {
            return FormatResult<CpuTuneSpec>.Fail(errors);
        }
        return FormatResult<CpuTuneSpec>.Ok(new CpuTuneSpec(
            result, emulatorPin is null ? null : cpuSets[emulatorPin], shares, period, quota, emulatorPeriod, emulatorQuota));
    }

    private static long? Number(OptionToken token, long min, long max, List<string> errors)
    {
        if (FormatSyntax.TryParseInt64(token.Value, min, max, out var n))
        {
            return n;
        }
        errors.Add($"cputune {token.Key} must be a whole number from {min} to {max} (got '{token.Value}').");
        return null;
    }

    /// <summary>libvirt quotas: -1 (no limit) or 1000 .. 17592186044415 microseconds.</summary>
    private static long? Quota(OptionToken token, List<string> errors)
    {
        if (token.Value == "-1")
        {
            return -1;
        }
        if (FormatSyntax.TryParseInt64(token.Value, 1000, 17592186044415, out var n))
        {
            return n;
        }
        errors.Add($"cputune {token.Key} must be -1 or a whole number of microseconds from 1000 to 17592186044415 (got '{token.Value}').");
        return null;
    }

    [GeneratedRegex("^vcpupin(?<n>[0-9]{1,4})\\.(?<attr>vcpu|cpuset)$")]
    private static partial Regex PinKey();
}
