using KubeStack.HostIntegration.Tests.Infrastructure;
using KubeStack.NodeAgent.HostTools;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.HostIntegration.Tests.Hostile;

/// <summary>
/// What the hostile suite compares before and after a run: files whose names carry the run or a hostile payload
/// (anywhere under the directories a host tool could write to), the canary directory and the pool directory entry by
/// entry, and the names of libvirt domains, pools, volumes and networks, OVS bridges and ports, OVN switches, ports and
/// routers. The machine is shared with other suites, so only names that carry the run or a payload count as ours.
/// </summary>
internal sealed record HostState(
    IReadOnlySet<string> MarkedFiles, IReadOnlyList<string> Canary, IReadOnlyList<string> PoolEntries, IReadOnlySet<string> HostNames)
{
    private static readonly string[] Roots = ["/tmp", "/var/tmp", "/mnt/localfs", "/mnt/usb", "/var/lib/libvirt", "/etc", "/run/kubestack-lab"];

    /// <summary>Pieces of the hostile payloads that no ordinary file or host object name contains.</summary>
    private static readonly string[] Payloads =
        ["kst-canary", "reboot", "Injected", "$(", "`", ";", "|", "&", "\n", "\r", "--help", "-rf", "%s", "\u202E", "'", "<", "touch", "${IFS}"];

    public static async Task<HostState> CaptureAsync(HostileAgentLab lab, LibvirtConnection connection)
    {
        var markers = Payloads.Append(lab.Run).ToArray();
        bool Marked(string name) => markers.Any(m => name.Contains(m, StringComparison.Ordinal));

        var files = new SortedSet<string>(StringComparer.Ordinal);
        var walk = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0, ReturnSpecialDirectories = false };
        foreach (var root in Roots.Where(Directory.Exists))
        {
            files.UnionWith(Directory.EnumerateFileSystemEntries(root, "*", walk).Where(p => Marked(Path.GetFileName(p))));
        }

        files.UnionWith(Directory.EnumerateFileSystemEntries("/root").Where(p => Marked(Path.GetFileName(p))));
        var pools = lab.Targets[KubeStack.Contracts.Resources.Kinds.VirtualMachinePool].SelectMany(p => Entries(Lifecycle.StorageRequests.PoolPath(p))).ToList();
        return new HostState(files, Entries(lab.CanaryDir), pools, await HostNamesAsync(connection, Marked));
    }

    private static List<string> Entries(string dir) =>
        [.. new DirectoryInfo(dir).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(i => $"{i.FullName} {(i is FileInfo f ? f.Length : -1)} {i.LastWriteTimeUtc:O} {i.LinkTarget}").Order(StringComparer.Ordinal)];

    private static async Task<SortedSet<string>> HostNamesAsync(LibvirtConnection connection, Func<string, bool> marked)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var d in connection.ListAllDomains())
        {
            using (d)
            {
                names.Add($"domain {d.Name}");
            }
        }

        foreach (var p in connection.ListAllStoragePools())
        {
            using (p)
            {
                names.Add($"pool {p.Name}");
                if (!p.IsActive())
                {
                    continue;
                }

                try
                {
                    foreach (var v in p.ListAllVolumes())
                    {
                        using (v)
                        {
                            names.Add($"volume {p.Name}/{v.Name}");
                        }
                    }
                }
                catch (LibvirtException)
                {
                    // another suite removed the pool meanwhile
                }
            }
        }

        foreach (var n in connection.ListAllNetworks())
        {
            using (n)
            {
                names.Add($"network {n.Name}");
            }
        }

        foreach (var bridge in await LinesAsync("ovs-vsctl", "list-br"))
        {
            names.Add($"ovs-bridge {bridge}");
            foreach (var port in await LinesAsync("ovs-vsctl", "list-ports", bridge))
            {
                names.Add($"ovs-port {bridge}/{port}");
            }
        }

        foreach (var table in new[] { "Logical_Switch", "Logical_Switch_Port", "Logical_Router", "Logical_Router_Port", "Address_Set", "Port_Group" })
        {
            foreach (var name in await LinesAsync("ovn-nbctl", "--bare", "--columns=name", "list", table))
            {
                names.Add($"ovn {table} {name}");
            }
        }

        return new SortedSet<string>(names.Where(marked), StringComparer.Ordinal);
    }

    private static async Task<IEnumerable<string>> LinesAsync(string tool, params string[] arguments)
    {
        try
        {
            var result = await HostToolRunner.Default.RunAsync(tool, arguments, CancellationToken.None);
            return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        catch (HostToolException)
        {
            return []; // a bridge removed by another suite between list-br and list-ports
        }
    }

    /// <summary>What changed from <paramref name="before"/> (empty when nothing of ours or of a payload appeared or changed).</summary>
    public IReadOnlyList<string> ChangesSince(HostState before)
    {
        ArgumentNullException.ThrowIfNull(before);
        var changes = new List<string>();
        changes.AddRange(MarkedFiles.Except(before.MarkedFiles).Select(f => $"new file {Show(f)}"));
        changes.AddRange(before.MarkedFiles.Except(MarkedFiles).Select(f => $"file gone {Show(f)}"));
        if (!Canary.SequenceEqual(before.Canary))
        {
            changes.Add($"the canary directory changed: [{string.Join(", ", before.Canary)}] -> [{string.Join(", ", Canary)}]");
        }

        if (!PoolEntries.SequenceEqual(before.PoolEntries))
        {
            changes.Add($"the pool directory changed: [{string.Join(", ", before.PoolEntries.Select(Show))}] -> [{string.Join(", ", PoolEntries.Select(Show))}]");
        }

        changes.AddRange(HostNames.Except(before.HostNames).Select(n => $"new host object {Show(n)}"));
        changes.AddRange(before.HostNames.Except(HostNames).Select(n => $"host object gone {Show(n)}"));
        return changes;
    }

    private static string Show(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    /// <summary>Canary files of the run (payloads write /tmp/kst-canary-&lt;run&gt;-N).</summary>
    public static IReadOnlyList<string> CanaryFiles(HostileAgentLab lab) =>
        [.. Directory.EnumerateFileSystemEntries("/tmp", Path.GetFileName(lab.CanaryPrefix) + "*")];
}

/// <summary>Removes what a failed run may have left on the host under the run's prefix (domains, pools, volumes, OVS bridges, OVN switches).</summary>
internal static class HostSweep
{
    public static void RemoveRun(LibvirtConnection connection, string prefix)
    {
        using var cleanup = new LibvirtCleanup(connection);
        foreach (var d in connection.ListAllDomains())
        {
            using (d)
            {
                if (d.Name.StartsWith(prefix, StringComparison.Ordinal))
                {
                    cleanup.Domain(d.Name);
                }
            }
        }

        foreach (var p in connection.ListAllStoragePools())
        {
            using (p)
            {
                if (p.Name.StartsWith(prefix, StringComparison.Ordinal))
                {
                    cleanup.Pool(p.Name);
                }
            }
        }

        foreach (var dir in Directory.EnumerateDirectories("/mnt/localfs", prefix + "*"))
        {
            cleanup.PathToDelete(dir);
        }
    }
}
