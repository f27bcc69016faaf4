namespace KubeStack.Contracts.Formats;

/// <summary>CPU topology; <c>Sockets × Cores × Threads</c> is the maximum vCPU count.</summary>
public sealed record CpuTopology(int Sockets, int Cores, int Threads)
{
    public int Product => Sockets * Cores * Threads;
}

/// <summary>The <c>vcpus</c> parameter.</summary>
/// <param name="Current">vCPUs online at boot.</param>
/// <param name="Maximum">The maximum (hot-pluggable) vCPU count; equals <see cref="Current"/> when not given.</param>
/// <param name="CpuSet">Physical CPUs the vCPUs may run on (libvirt cpuset syntax), or null.</param>
/// <param name="Topology">Sockets/cores/threads when any of them was given, else null.</param>
public sealed record VcpuSpec(int Current, int Maximum, string? CpuSet, CpuTopology? Topology);

/// <summary>
/// Format <c>vcpus</c>: <c>N[,cpuset=SET][,maxvcpus=M][,cores=C][,sockets=S][,threads=T]</c> (virt-install's
/// <c>--vcpus</c>). With a topology, <c>maxvcpus = sockets × cores × threads</c> (the catalog's constraint); a missing
/// topology value counts as 1, and a missing maxvcpus is the product. <c>N ≤ maxvcpus</c>. The cpuset may contain
/// commas (<c>cpuset=1-4,8</c>): bare tokens after it continue the set.
/// </summary>
public static class VcpusFormat
{
    public const string Name = "vcpus";
    public const int MaxVcpus = 1024;
    public const int MaxTopologyValue = 100;

    private static readonly string[] Keys = ["cpuset", "maxvcpus", "cores", "sockets", "threads"];

    public static FormatResult<VcpuSpec> Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        var tokens = FormatSyntax.Tokens(value.Trim());
        if (tokens[0].Key is not null || !FormatSyntax.TryParseInt32(tokens[0].Value, 1, MaxVcpus, out var current))
        {
            return FormatResult<VcpuSpec>.Fail(
                [$"vcpus must start with the number of vCPUs, a whole number from 1 to {MaxVcpus} (got '{SeedPaths.Shorten(tokens[0].Value)}')."]);
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        string? lastKey = null;
        foreach (var token in tokens.Skip(1))
        {
            if (token.Key is null)
            {
                if (lastKey == "cpuset" && CpuSets.IsContinuation(token.Value))
                {
                    options["cpuset"] += "," + token.Value;
                }
                else
                {
                    errors.Add($"vcpus item {token.Position} ('{token.Value}') is not of the form key=value.");
                }
                continue;
            }
            lastKey = token.Key;
            if (!Keys.Contains(token.Key))
            {
                errors.Add($"vcpus has the unknown key '{token.Key}'; allowed keys: {string.Join(", ", Keys)}.");
            }
            else if (!options.TryAdd(token.Key, token.Value))
            {
                errors.Add($"vcpus key '{token.Key}' is given more than once.");
            }
        }

        string? cpuset = null;
        if (options.TryGetValue("cpuset", out var set))
        {
            var problem = CpuSets.Problem(set);
            if (problem is null)
            {
                cpuset = set;
            }
            else
            {
                errors.Add($"vcpus cpuset '{set}' {problem}.");
            }
        }
        int? max = Number(options, "maxvcpus", MaxVcpus, errors);
        var cores = Number(options, "cores", MaxTopologyValue, errors);
        var sockets = Number(options, "sockets", MaxTopologyValue, errors);
        var threads = Number(options, "threads", MaxTopologyValue, errors);
        if (errors.Count > 0)
        {
            return FormatResult<VcpuSpec>.Fail(errors);
        }

        CpuTopology? topology = null;
        if (cores is not null || sockets is not null || threads is not null)
        {
            topology = new CpuTopology(sockets ?? 1, cores ?? 1, threads ?? 1);
            if (max is null)
            {
                max = topology.Product;
            }
            else if (max != topology.Product)
            {
                errors.Add($"vcpus maxvcpus ({max}) must equal sockets × cores × threads " +
                           $"({topology.Sockets} × {topology.Cores} × {topology.Threads} = {topology.Product}).");
            }
            if (topology.Product > MaxVcpus)
            {
                errors.Add($"vcpus topology gives {topology.Product} vCPUs, above the maximum of {MaxVcpus}.");
            }
        }
        max ??= current;
        if (current > max)
        {
            errors.Add($"vcpus asks for {current} vCPUs but maxvcpus is {max}; the vCPU count cannot exceed the maximum.");
        }
        return errors.Count > 0
            ? FormatResult<VcpuSpec>.Fail(errors)
            : FormatResult<VcpuSpec>.Ok(new VcpuSpec(current, max.Value, cpuset, topology));
    }

    private static int? Number(Dictionary<string, string> options, string key, int max, List<string> errors)
    {
        if (!options.TryGetValue(key, out var text))
        {
            return null;
        }
        if (FormatSyntax.TryParseInt32(text, 1, max, out var n))
        {
            return n;
        }
        errors.Add($"vcpus {key} must be a whole number from 1 to {max} (got '{text}').");
        return null;
    }
}
