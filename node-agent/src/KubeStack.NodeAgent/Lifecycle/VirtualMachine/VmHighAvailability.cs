using System.Xml.Linq;
using KubeStack.NodeAgent.Libvirt;

namespace KubeStack.NodeAgent.Lifecycle.VirtualMachine;

/// <summary>
/// The high-availability mark of autoStartVM: an element <c>&lt;kubestack:high-availability/&gt;</c> in the domain's
/// <c>&lt;metadata&gt;</c> (namespace <see cref="Uri"/>), kept by libvirt with the definition (so it survives agent
/// restarts and shows in spec.domain), plus libvirt autostart (the domain starts with the host). The VM watcher starts
/// a marked VM again when it stops without a request (Watch/VmStateWatcher.HighAvailability.cs).
/// </summary>
public static class VmHighAvailability
{
    public const string Uri = "https://doslab.io/kubestack/high-availability";
    public const string Prefix = "kubestack";

    /// <summary>The element libvirt stores (it adds the namespace itself).</summary>
    public static string Element => new XElement("high-availability", new XAttribute("enabled", "yes")).ToString();

    /// <summary>True when the persistent definition carries the mark.</summary>
    public static bool IsMarked(LibvirtDomain domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        return domain.GetMetadataElement(Uri, DomainModificationFlags.Config) is not null;
    }

    /// <summary>True when the running domain carries the mark (only meaningful while it runs).</summary>
    public static bool IsMarkedLive(LibvirtDomain domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        return domain.GetMetadataElement(Uri, DomainModificationFlags.Live) is not null;
    }

    /// <summary>Sets or removes the mark in the definition, and in the running domain when it runs.</summary>
    public static void Mark(LibvirtDomain domain, bool on)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var flags = DomainModificationFlags.Config | (domain.IsActive() ? DomainModificationFlags.Live : 0);
        domain.SetMetadataElement(Uri, Prefix, on ? Element : null, flags);
    }
}
