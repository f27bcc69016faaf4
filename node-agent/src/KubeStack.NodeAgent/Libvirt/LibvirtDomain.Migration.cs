using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>virDomainMigrateFlags (libvirt-domain.h).</summary>
[Flags]
public enum DomainMigrateFlags : uint
{
    None = 0,
    Live = 1 << 0,
    PeerToPeer = 1 << 1,
    Tunnelled = 1 << 2,
    PersistDest = 1 << 3,
    UndefineSource = 1 << 4,
    Paused = 1 << 5,
    NonSharedDisk = 1 << 6,
    NonSharedInc = 1 << 7,
    ChangeProtection = 1 << 8,
    Unsafe = 1 << 9,
    Offline = 1 << 10,
    Compressed = 1 << 11,
    AbortOnError = 1 << 12,
    AutoConverge = 1 << 13,
}

/// <summary>
/// The typed parameters of virDomainMigrate3 / virDomainMigrateToURI3 that KubeStack uses (VIR_MIGRATE_PARAM_*);
/// null leaves a parameter out (libvirt's default).
/// </summary>
public sealed record DomainMigrateParameters
{
    /// <summary>VIR_MIGRATE_PARAM_URI ("migrate_uri"): where the migration data goes, e.g. tcp://10.77.2.2.</summary>
    public string? MigrateUri { get; init; }

    /// <summary>VIR_MIGRATE_PARAM_DEST_XML ("destination_xml"): the domain XML to use on the destination (changed disk paths).</summary>
    public string? DestinationXml { get; init; }

    /// <summary>VIR_MIGRATE_PARAM_PERSIST_XML ("persistent_xml"): the persistent definition on the destination.</summary>
    public string? PersistentXml { get; init; }

    /// <summary>VIR_MIGRATE_PARAM_BANDWIDTH ("bandwidth"), MiB/s.</summary>
    public ulong? BandwidthMiBs { get; init; }
}

public sealed unsafe partial class LibvirtDomain
{
    /// <summary>
    /// virDomainMigrate3: migrates this domain to the host behind <paramref name="destination"/> (the client drives the
    /// migration; the data goes from QEMU to QEMU). Returns the domain on the destination. Blocks until the migration
    /// ends; with <see cref="DomainMigrateFlags.Offline"/> only the definition moves.
    /// </summary>
    public LibvirtDomain Migrate(LibvirtConnection destination, DomainMigrateParameters parameters, DomainMigrateFlags flags)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(parameters);
        using var typed = MigrateTypedParameters.From(parameters);
        return new LibvirtDomain(destination, _conn.CheckHandle(
            LibvirtNative.virDomainMigrate3(_handle, destination.Handle, typed.Pointer, (uint)typed.Count, (uint)flags), "virDomainMigrate3"));
    }

    /// <summary>
    /// virDomainMigrateToURI3: migrates this domain to <paramref name="destinationUri"/>; with
    /// <see cref="DomainMigrateFlags.PeerToPeer"/> the source libvirtd connects to the destination itself.
    /// </summary>
    public void MigrateToUri(string destinationUri, DomainMigrateParameters parameters, DomainMigrateFlags flags)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(destinationUri);
        ArgumentNullException.ThrowIfNull(parameters);
        using var typed = MigrateTypedParameters.From(parameters);
        _conn.Check(LibvirtNative.virDomainMigrateToURI3(_handle, destinationUri, typed.Pointer, (uint)typed.Count, (uint)flags),
            "virDomainMigrateToURI3");
    }

    /// <summary>A virTypedParameter array built (and freed) by libvirt's own virTypedParamsAdd*/virTypedParamsFree.</summary>
    private sealed class MigrateTypedParameters : IDisposable
    {
        private IntPtr _params;
        private int _count;
        private int _max;

        public IntPtr Pointer => _params;
        public int Count => _count;

        public static MigrateTypedParameters From(DomainMigrateParameters p)
        {
            var t = new MigrateTypedParameters();
            try
            {
                t.Add("migrate_uri", p.MigrateUri);
                t.Add("destination_xml", p.DestinationXml);
                t.Add("persistent_xml", p.PersistentXml);
                if (p.BandwidthMiBs is { } bandwidth)
                {
                    Checked(LibvirtNative.virTypedParamsAddULLong(ref t._params, ref t._count, ref t._max, "bandwidth", bandwidth), "bandwidth");
                }

                return t;
            }
            catch
            {
                t.Dispose();
                throw;
            }
        }

        private void Add(string name, string? value)
        {
            if (value is not null)
            {
                Checked(LibvirtNative.virTypedParamsAddString(ref _params, ref _count, ref _max, name, value), name);
            }
        }

        private static void Checked(int rc, string name)
        {
            if (rc < 0) throw LibvirtException.FromLastError($"virTypedParamsAdd({name})");
        }

        public void Dispose()
        {
            if (_params != IntPtr.Zero) LibvirtNative.virTypedParamsFree(_params, _count);
            _params = IntPtr.Zero;
            _count = 0;
        }
    }
}
