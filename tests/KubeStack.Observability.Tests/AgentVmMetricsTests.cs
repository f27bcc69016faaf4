using System.Xml.Linq;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.Observability.Tests;

/// <summary>
/// /metrics of a real agent on the host lab (qemu:///system) while a TCG guest runs: the per-VM series from libvirt's
/// bulk statistics (CPU time grows while the guest runs) and the per-pool series. Skipped with the reason when the
/// lab is down.
/// </summary>
[Collection(HostsCollection.Name)]
public sealed class AgentVmMetricsTests
{
    private const string StateDir = "/var/lib/kubestack-lab";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static string? WhyNoLab()
    {
        if (!File.Exists("/run/libvirt/libvirt-sock"))
        {
            return "the host lab is not up: /run/libvirt/libvirt-sock is missing (run lab/lab-up.sh)";
        }

        return File.Exists(Path.Combine(StateDir, "guest.ready")) && File.Exists(Path.Combine(StateDir, "vmlinuz")) && File.Exists(Path.Combine(StateDir, "initrd.gz"))
            ? null
            : $"the lab guest is not built: {StateDir}/guest.ready, vmlinuz or initrd.gz missing (run lab/lab-up.sh)";
    }

    [SkippableFact]
    public async Task Running_guest_has_growing_cpu_time_and_memory_series_and_an_active_pool_has_capacity_series()
    {
        var why = WhyNoLab();
        Skip.If(why is not null, why);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var vmName = $"kst-obs-{suffix}";
        var poolName = $"kst-obs-pool-{suffix}";
        var poolDir = Directory.CreateTempSubdirectory("kst-obs-pool-").FullName;
        using var libvirt = LibvirtConnection.Open("qemu:///system");
        LibvirtDomain? domain = null;
        LibvirtStoragePool? pool = null;
        try
        {
            pool = libvirt.StoragePoolDefineXml(new XElement("pool", new XAttribute("type", "dir"), new XElement("name", poolName),
                new XElement("target", new XElement("path", poolDir))).ToString());
            pool.Create();
            domain = libvirt.CreateXml(GuestXml(vmName));

            await using var stack = await Stack.StartAsync();
            var port = Repo.FreePort();
            await stack.StartAgentAsync($"obs-lab-{suffix}", "qemu:///system", port);

            var first = await Eventually.GetAsync(async () =>
            {
                var s = await Scrape.GetAsync(port);
                return s.Series("kubestack_vm_cpu_time_seconds_total", ("vm", vmName)).Any() ? s : null;
            }, $"the CPU series of {vmName}", Timeout);
            var cpu1 = Assert.Single(first.Series("kubestack_vm_cpu_time_seconds_total", ("vm", vmName))).Value;
            Assert.True(cpu1 > 0, $"CPU time of a running guest is {cpu1}");
            Assert.Equal(1, Assert.Single(first.Series("kubestack_vm_vcpus", ("vm", vmName))).Value);
            Assert.True(Assert.Single(first.Series("kubestack_vm_memory_balloon_bytes", ("vm", vmName))).Value >= 64 * 1024 * 1024);
            Assert.True(Assert.Single(first.Series("kubestack_vm_memory_rss_bytes", ("vm", vmName))).Value > 0);
            var capacity = Assert.Single(first.Series("kubestack_pool_capacity_bytes", ("pool", poolName))).Value;
            var available = Assert.Single(first.Series("kubestack_pool_available_bytes", ("pool", poolName))).Value;
            Assert.True(capacity > 0 && available > 0 && available <= capacity, $"pool capacity {capacity}, available {available}");
            Assert.Equal(1, Assert.Single(first.Series("kubestack_agent_libvirt_connected")).Value);

            // the guest keeps running: a later scrape reads a larger counter
            var seen = new List<string>();
            try
            {
                await Eventually.GetAsync(async () =>
                {
                    var s = await Scrape.GetAsync(port);
                    var cpu = s.Series("kubestack_vm_cpu_time_seconds_total", ("vm", vmName)).ToList();
                    seen.Add(cpu.Count == 0 ? "(no series)" : cpu[0].Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    return cpu.Any(x => x.Value > cpu1) ? s : null;
                }, $"the CPU time of {vmName} to grow past {cpu1} s", Timeout);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message} Values seen: {string.Join(", ", seen.Distinct())}; domain state: {domain.GetState()}", ex);
            }
        }
        finally
        {
            if (domain is not null)
            {
                try { domain.Destroy(); } catch (LibvirtException) { }
                domain.Dispose();
            }

            if (pool is not null)
            {
                try { pool.Destroy(); } catch (LibvirtException) { }
                try { pool.Undefine(); } catch (LibvirtException) { }
                pool.Dispose();
            }

            Directory.Delete(poolDir, recursive: true);
        }
    }

    private static string GuestXml(string name) =>
        new XElement("domain", new XAttribute("type", "qemu"),
            new XElement("name", name),
            new XElement("memory", new XAttribute("unit", "MiB"), 128),
            new XElement("vcpu", 1),
            new XElement("os",
                new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", "pc"), "hvm"),
                new XElement("kernel", Path.Combine(StateDir, "vmlinuz")),
                new XElement("initrd", Path.Combine(StateDir, "initrd.gz")),
                new XElement("cmdline", "console=ttyS0 quiet")),
            new XElement("on_poweroff", "destroy"),
            new XElement("devices",
                new XElement("emulator", "/usr/bin/qemu-system-x86_64"),
                new XElement("serial", new XAttribute("type", "pty")),
                new XElement("memballoon", new XAttribute("model", "virtio")))).ToString();
}
