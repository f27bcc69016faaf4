namespace KubeStack.Contracts.Resources;

/// <summary>The 8 kinds of doslab.io/v1 and their names on the API.</summary>
public static class Kinds
{
    public const string VirtualMachine = "VirtualMachine";
    public const string VirtualMachineImage = "VirtualMachineImage";
    public const string VirtualMachineDisk = "VirtualMachineDisk";
    public const string VirtualMachineDiskImage = "VirtualMachineDiskImage";
    public const string VirtualMachineDiskSnapshot = "VirtualMachineDiskSnapshot";
    public const string VirtualMachineSnapshot = "VirtualMachineSnapshot";
    public const string VirtualMachinePool = "VirtualMachinePool";
    public const string VirtualMachineNetwork = "VirtualMachineNetwork";

    public static readonly IReadOnlyList<string> All =
    [
        VirtualMachine, VirtualMachineImage, VirtualMachineDisk, VirtualMachineDiskImage,
        VirtualMachineDiskSnapshot, VirtualMachineSnapshot, VirtualMachinePool, VirtualMachineNetwork,
    ];
}

/// <summary>Labels the clients and the agent use (architecture §1.1).</summary>
public static class Labels
{
    /// <summary>The node the object lives on.</summary>
    public const string Host = "host";
    public const string EventId = "kubestack.label.event.id";
    /// <summary>Older clients' spelling of <see cref="EventId"/>.</summary>
    public const string LegacyEventId = "eventId";
}

public static class Finalizers
{
    /// <summary>Held while the host side of the object exists; the agent removes it after cleaning up.</summary>
    public const string HostCleanup = "doslab.io/host-cleanup";
}
