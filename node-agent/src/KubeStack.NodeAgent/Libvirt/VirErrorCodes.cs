// Transcribed from libvirt 9.0 include/libvirt/virterror.h (virErrorNumber, virErrorDomain); the numbers are libvirt ABI.
#pragma warning disable CA1008 // the zero value is libvirt's own (VIR_ERR_OK / VIR_FROM_NONE)

namespace KubeStack.NodeAgent.Libvirt;

/// <summary>libvirt error codes (<c>virErrorNumber</c>), transcribed from libvirt 9.0 <c>virterror.h</c>. Numbers are ABI: never renumber.</summary>
public enum VirErrorNumber
{
    /// <summary>VIR_ERR_OK</summary>
    Ok = 0,
    /// <summary>VIR_ERR_INTERNAL_ERROR: internal error</summary>
    InternalError = 1,
    /// <summary>VIR_ERR_NO_MEMORY: memory allocation failure</summary>
    NoMemory = 2,
    /// <summary>VIR_ERR_NO_SUPPORT: no support for this function</summary>
    NoSupport = 3,
    /// <summary>VIR_ERR_UNKNOWN_HOST: could not resolve hostname</summary>
    UnknownHost = 4,
    /// <summary>VIR_ERR_NO_CONNECT: can't connect to hypervisor</summary>
    NoConnect = 5,
    /// <summary>VIR_ERR_INVALID_CONN: invalid connection object</summary>
    InvalidConn = 6,
    /// <summary>VIR_ERR_INVALID_DOMAIN: invalid domain object</summary>
    InvalidDomain = 7,
    /// <summary>VIR_ERR_INVALID_ARG: invalid function argument</summary>
    InvalidArg = 8,
    /// <summary>VIR_ERR_OPERATION_FAILED: a command to hypervisor failed</summary>
    OperationFailed = 9,
    /// <summary>VIR_ERR_GET_FAILED: a HTTP GET command to failed</summary>
    GetFailed = 10,
    /// <summary>VIR_ERR_POST_FAILED: a HTTP POST command to failed</summary>
    PostFailed = 11,
    /// <summary>VIR_ERR_HTTP_ERROR: unexpected HTTP error code</summary>
    HttpError = 12,
    /// <summary>VIR_ERR_SEXPR_SERIAL: failure to serialize an S-Expr</summary>
    SexprSerial = 13,
    /// <summary>VIR_ERR_NO_XEN</summary>
    NoXen = 14,
    /// <summary>VIR_ERR_XEN_CALL: failure doing an hypervisor call</summary>
    XenCall = 15,
    /// <summary>VIR_ERR_OS_TYPE: unknown OS type</summary>
    OsType = 16,
    /// <summary>VIR_ERR_NO_KERNEL: missing kernel information</summary>
    NoKernel = 17,
    /// <summary>VIR_ERR_NO_ROOT: missing root device information</summary>
    NoRoot = 18,
    /// <summary>VIR_ERR_NO_SOURCE: missing source device information</summary>
    NoSource = 19,
    /// <summary>VIR_ERR_NO_TARGET: missing target device information</summary>
    NoTarget = 20,
    /// <summary>VIR_ERR_NO_NAME: missing domain name information</summary>
    NoName = 21,
    /// <summary>VIR_ERR_NO_OS: missing domain OS information</summary>
    NoOs = 22,
    /// <summary>VIR_ERR_NO_DEVICE: missing domain devices information</summary>
    NoDevice = 23,
    /// <summary>VIR_ERR_NO_XENSTORE: could not open Xen Store control</summary>
    NoXenstore = 24,
    /// <summary>VIR_ERR_DRIVER_FULL: too many drivers registered</summary>
    DriverFull = 25,
    /// <summary>VIR_ERR_CALL_FAILED</summary>
    CallFailed = 26,
    /// <summary>VIR_ERR_XML_ERROR</summary>
    XmlError = 27,
    /// <summary>VIR_ERR_DOM_EXIST: the domain already exist</summary>
    DomExist = 28,
    /// <summary>VIR_ERR_OPERATION_DENIED</summary>
    OperationDenied = 29,
    /// <summary>VIR_ERR_OPEN_FAILED: failed to open a conf file</summary>
    OpenFailed = 30,
    /// <summary>VIR_ERR_READ_FAILED: failed to read a conf file</summary>
    ReadFailed = 31,
    /// <summary>VIR_ERR_PARSE_FAILED: failed to parse a conf file</summary>
    ParseFailed = 32,
    /// <summary>VIR_ERR_CONF_SYNTAX</summary>
    ConfSyntax = 33,
    /// <summary>VIR_ERR_WRITE_FAILED: failed to write a conf file</summary>
    WriteFailed = 34,
    /// <summary>VIR_ERR_XML_DETAIL: detail of an XML error</summary>
    XmlDetail = 35,
    /// <summary>VIR_ERR_INVALID_NETWORK: invalid network object</summary>
    InvalidNetwork = 36,
    /// <summary>VIR_ERR_NETWORK_EXIST: the network already exist</summary>
    NetworkExist = 37,
    /// <summary>VIR_ERR_SYSTEM_ERROR: general system call failure</summary>
    SystemError = 38,
    /// <summary>VIR_ERR_RPC: some sort of RPC error</summary>
    Rpc = 39,
    /// <summary>VIR_ERR_GNUTLS_ERROR: error from a GNUTLS call</summary>
    GnutlsError = 40,
    /// <summary>VIR_WAR_NO_NETWORK: failed to start network</summary>
    WarningNoNetwork = 41,
    /// <summary>VIR_ERR_NO_DOMAIN</summary>
    NoDomain = 42,
    /// <summary>VIR_ERR_NO_NETWORK: network not found</summary>
    NoNetwork = 43,
    /// <summary>VIR_ERR_INVALID_MAC: invalid MAC address</summary>
    InvalidMac = 44,
    /// <summary>VIR_ERR_AUTH_FAILED: authentication failed</summary>
    AuthFailed = 45,
    /// <summary>VIR_ERR_INVALID_STORAGE_POOL: invalid storage pool object</summary>
    InvalidStoragePool = 46,
    /// <summary>VIR_ERR_INVALID_STORAGE_VOL: invalid storage vol object</summary>
    InvalidStorageVol = 47,
    /// <summary>VIR_WAR_NO_STORAGE: failed to start storage</summary>
    WarningNoStorage = 48,
    /// <summary>VIR_ERR_NO_STORAGE_POOL: storage pool not found</summary>
    NoStoragePool = 49,
    /// <summary>VIR_ERR_NO_STORAGE_VOL: storage volume not found</summary>
    NoStorageVol = 50,
    /// <summary>VIR_WAR_NO_NODE: failed to start node driver</summary>
    WarningNoNode = 51,
    /// <summary>VIR_ERR_INVALID_NODE_DEVICE: invalid node device object</summary>
    InvalidNodeDevice = 52,
    /// <summary>VIR_ERR_NO_NODE_DEVICE: node device not found</summary>
    NoNodeDevice = 53,
    /// <summary>VIR_ERR_NO_SECURITY_MODEL: security model not found</summary>
    NoSecurityModel = 54,
    /// <summary>VIR_ERR_OPERATION_INVALID</summary>
    OperationInvalid = 55,
    /// <summary>VIR_WAR_NO_INTERFACE: failed to start interface driver</summary>
    WarningNoInterface = 56,
    /// <summary>VIR_ERR_NO_INTERFACE: interface driver not running</summary>
    NoInterface = 57,
    /// <summary>VIR_ERR_INVALID_INTERFACE: invalid interface object</summary>
    InvalidInterface = 58,
    /// <summary>VIR_ERR_MULTIPLE_INTERFACES</summary>
    MultipleInterfaces = 59,
    /// <summary>VIR_WAR_NO_NWFILTER: failed to start nwfilter driver</summary>
    WarningNoNwfilter = 60,
    /// <summary>VIR_ERR_INVALID_NWFILTER: invalid nwfilter object</summary>
    InvalidNwfilter = 61,
    /// <summary>VIR_ERR_NO_NWFILTER: nw filter pool not found</summary>
    NoNwfilter = 62,
    /// <summary>VIR_ERR_BUILD_FIREWALL: nw filter pool not found</summary>
    BuildFirewall = 63,
    /// <summary>VIR_WAR_NO_SECRET: failed to start secret storage</summary>
    WarningNoSecret = 64,
    /// <summary>VIR_ERR_INVALID_SECRET: invalid secret</summary>
    InvalidSecret = 65,
    /// <summary>VIR_ERR_NO_SECRET: secret not found</summary>
    NoSecret = 66,
    /// <summary>VIR_ERR_CONFIG_UNSUPPORTED</summary>
    ConfigUnsupported = 67,
    /// <summary>VIR_ERR_OPERATION_TIMEOUT: timeout occurred during operation</summary>
    OperationTimeout = 68,
    /// <summary>VIR_ERR_MIGRATE_PERSIST_FAILED</summary>
    MigratePersistFailed = 69,
    /// <summary>VIR_ERR_HOOK_SCRIPT_FAILED: a synchronous hook script failed</summary>
    HookScriptFailed = 70,
    /// <summary>VIR_ERR_INVALID_DOMAIN_SNAPSHOT: invalid domain snapshot</summary>
    InvalidDomainSnapshot = 71,
    /// <summary>VIR_ERR_NO_DOMAIN_SNAPSHOT: domain snapshot not found</summary>
    NoDomainSnapshot = 72,
    /// <summary>VIR_ERR_INVALID_STREAM: stream pointer not valid</summary>
    InvalidStream = 73,
    /// <summary>VIR_ERR_ARGUMENT_UNSUPPORTED</summary>
    ArgumentUnsupported = 74,
    /// <summary>VIR_ERR_STORAGE_PROBE_FAILED: storage pool probe failed</summary>
    StorageProbeFailed = 75,
    /// <summary>VIR_ERR_STORAGE_POOL_BUILT: storage pool already built</summary>
    StoragePoolBuilt = 76,
    /// <summary>VIR_ERR_SNAPSHOT_REVERT_RISKY</summary>
    SnapshotRevertRisky = 77,
    /// <summary>VIR_ERR_OPERATION_ABORTED</summary>
    OperationAborted = 78,
    /// <summary>VIR_ERR_AUTH_CANCELLED: authentication cancelled</summary>
    AuthCancelled = 79,
    /// <summary>VIR_ERR_NO_DOMAIN_METADATA: The metadata is not present</summary>
    NoDomainMetadata = 80,
    /// <summary>VIR_ERR_MIGRATE_UNSAFE: Migration is not safe</summary>
    MigrateUnsafe = 81,
    /// <summary>VIR_ERR_OVERFLOW: integer overflow</summary>
    Overflow = 82,
    /// <summary>VIR_ERR_BLOCK_COPY_ACTIVE: action prevented by block copy job</summary>
    BlockCopyActive = 83,
    /// <summary>VIR_ERR_OPERATION_UNSUPPORTED</summary>
    OperationUnsupported = 84,
    /// <summary>VIR_ERR_SSH: error in ssh transport driver</summary>
    Ssh = 85,
    /// <summary>VIR_ERR_AGENT_UNRESPONSIVE</summary>
    AgentUnresponsive = 86,
    /// <summary>VIR_ERR_RESOURCE_BUSY: resource is already in use</summary>
    ResourceBusy = 87,
    /// <summary>VIR_ERR_ACCESS_DENIED</summary>
    AccessDenied = 88,
    /// <summary>VIR_ERR_DBUS_SERVICE: error from a dbus service</summary>
    DbusService = 89,
    /// <summary>VIR_ERR_STORAGE_VOL_EXIST: the storage vol already exists</summary>
    StorageVolExist = 90,
    /// <summary>VIR_ERR_CPU_INCOMPATIBLE: given CPU is incompatible with host CPU</summary>
    CpuIncompatible = 91,
    /// <summary>VIR_ERR_XML_INVALID_SCHEMA: XML document doesn't validate against schema</summary>
    XmlInvalidSchema = 92,
    /// <summary>VIR_ERR_MIGRATE_FINISH_OK: Finish API succeeded but it is expected to return NULL</summary>
    MigrateFinishOk = 93,
    /// <summary>VIR_ERR_AUTH_UNAVAILABLE: authentication unavailable</summary>
    AuthUnavailable = 94,
    /// <summary>VIR_ERR_NO_SERVER: Server was not found</summary>
    NoServer = 95,
    /// <summary>VIR_ERR_NO_CLIENT: Client was not found</summary>
    NoClient = 96,
    /// <summary>VIR_ERR_AGENT_UNSYNCED</summary>
    AgentUnsynced = 97,
    /// <summary>VIR_ERR_LIBSSH: error in libssh transport driver</summary>
    Libssh = 98,
    /// <summary>VIR_ERR_DEVICE_MISSING: fail to find the desired device</summary>
    DeviceMissing = 99,
    /// <summary>VIR_ERR_INVALID_NWFILTER_BINDING: invalid nwfilter binding</summary>
    InvalidNwfilterBinding = 100,
    /// <summary>VIR_ERR_NO_NWFILTER_BINDING: no nwfilter binding</summary>
    NoNwfilterBinding = 101,
    /// <summary>VIR_ERR_INVALID_DOMAIN_CHECKPOINT: invalid domain checkpoint</summary>
    InvalidDomainCheckpoint = 102,
    /// <summary>VIR_ERR_NO_DOMAIN_CHECKPOINT: domain checkpoint not found</summary>
    NoDomainCheckpoint = 103,
    /// <summary>VIR_ERR_NO_DOMAIN_BACKUP: domain backup job id not found</summary>
    NoDomainBackup = 104,
    /// <summary>VIR_ERR_INVALID_NETWORK_PORT: invalid network port object</summary>
    InvalidNetworkPort = 105,
    /// <summary>VIR_ERR_NETWORK_PORT_EXIST: the network port already exist</summary>
    NetworkPortExist = 106,
    /// <summary>VIR_ERR_NO_NETWORK_PORT: network port not found</summary>
    NoNetworkPort = 107,
    /// <summary>VIR_ERR_NO_HOSTNAME: no domain's hostname found</summary>
    NoHostname = 108,
    /// <summary>VIR_ERR_CHECKPOINT_INCONSISTENT: checkpoint can't be used</summary>
    CheckpointInconsistent = 109,
    /// <summary>VIR_ERR_MULTIPLE_DOMAINS: more than one matching domain found</summary>
    MultipleDomains = 110,
}

/// <summary>The libvirt subsystem an error comes from (<c>virErrorDomain</c>), transcribed from libvirt 9.0 <c>virterror.h</c>.</summary>
public enum VirErrorDomain
{
    /// <summary>VIR_FROM_NONE</summary>
    None = 0,
    /// <summary>VIR_FROM_XEN: Error at Xen hypervisor layer</summary>
    Xen = 1,
    /// <summary>VIR_FROM_XEND: Error at connection with xend daemon</summary>
    Xend = 2,
    /// <summary>VIR_FROM_XENSTORE: Error at connection with xen store</summary>
    Xenstore = 3,
    /// <summary>VIR_FROM_SEXPR: Error in the S-Expression code</summary>
    Sexpr = 4,
    /// <summary>VIR_FROM_XML: Error in the XML code</summary>
    Xml = 5,
    /// <summary>VIR_FROM_DOM: Error when operating on a domain</summary>
    Dom = 6,
    /// <summary>VIR_FROM_RPC: Error in the XML-RPC code</summary>
    Rpc = 7,
    /// <summary>VIR_FROM_PROXY</summary>
    Proxy = 8,
    /// <summary>VIR_FROM_CONF: Error in the configuration file handling</summary>
    Conf = 9,
    /// <summary>VIR_FROM_QEMU: Error at the QEMU daemon</summary>
    Qemu = 10,
    /// <summary>VIR_FROM_NET: Error when operating on a network</summary>
    Net = 11,
    /// <summary>VIR_FROM_TEST: Error from test driver</summary>
    Test = 12,
    /// <summary>VIR_FROM_REMOTE: Error from remote driver</summary>
    Remote = 13,
    /// <summary>VIR_FROM_OPENVZ: Error from OpenVZ driver</summary>
    Openvz = 14,
    /// <summary>VIR_FROM_XENXM: Error at Xen XM layer</summary>
    Xenxm = 15,
    /// <summary>VIR_FROM_STATS_LINUX: Error in the Linux Stats code</summary>
    StatsLinux = 16,
    /// <summary>VIR_FROM_LXC: Error from Linux Container driver</summary>
    Lxc = 17,
    /// <summary>VIR_FROM_STORAGE: Error from storage driver</summary>
    Storage = 18,
    /// <summary>VIR_FROM_NETWORK: Error from network config</summary>
    Network = 19,
    /// <summary>VIR_FROM_DOMAIN: Error from domain config</summary>
    Domain = 20,
    /// <summary>VIR_FROM_UML: Error at the UML driver; unused since 5.0.0</summary>
    Uml = 21,
    /// <summary>VIR_FROM_NODEDEV: Error from node device monitor</summary>
    Nodedev = 22,
    /// <summary>VIR_FROM_XEN_INOTIFY: Error from xen inotify layer</summary>
    XenInotify = 23,
    /// <summary>VIR_FROM_SECURITY: Error from security framework</summary>
    Security = 24,
    /// <summary>VIR_FROM_VBOX: Error from VirtualBox driver</summary>
    Vbox = 25,
    /// <summary>VIR_FROM_INTERFACE: Error when operating on an interface</summary>
    Interface = 26,
    /// <summary>VIR_FROM_ONE</summary>
    One = 27,
    /// <summary>VIR_FROM_ESX: Error from ESX driver</summary>
    Esx = 28,
    /// <summary>VIR_FROM_PHYP: Error from the phyp driver, unused since 6.0.0</summary>
    Phyp = 29,
    /// <summary>VIR_FROM_SECRET: Error from secret storage</summary>
    Secret = 30,
    /// <summary>VIR_FROM_CPU: Error from CPU driver</summary>
    Cpu = 31,
    /// <summary>VIR_FROM_XENAPI: Error from XenAPI</summary>
    Xenapi = 32,
    /// <summary>VIR_FROM_NWFILTER: Error from network filter driver</summary>
    Nwfilter = 33,
    /// <summary>VIR_FROM_HOOK: Error from Synchronous hooks</summary>
    Hook = 34,
    /// <summary>VIR_FROM_DOMAIN_SNAPSHOT: Error from domain snapshot</summary>
    DomainSnapshot = 35,
    /// <summary>VIR_FROM_AUDIT: Error from auditing subsystem</summary>
    Audit = 36,
    /// <summary>VIR_FROM_SYSINFO: Error from sysinfo/SMBIOS</summary>
    Sysinfo = 37,
    /// <summary>VIR_FROM_STREAMS: Error from I/O streams</summary>
    Streams = 38,
    /// <summary>VIR_FROM_VMWARE: Error from VMware driver</summary>
    Vmware = 39,
    /// <summary>VIR_FROM_EVENT: Error from event loop impl</summary>
    Event = 40,
    /// <summary>VIR_FROM_LIBXL: Error from libxenlight driver</summary>
    Libxl = 41,
    /// <summary>VIR_FROM_LOCKING: Error from lock manager</summary>
    Locking = 42,
    /// <summary>VIR_FROM_HYPERV: Error from Hyper-V driver</summary>
    Hyperv = 43,
    /// <summary>VIR_FROM_CAPABILITIES: Error from capabilities</summary>
    Capabilities = 44,
    /// <summary>VIR_FROM_URI: Error from URI handling</summary>
    Uri = 45,
    /// <summary>VIR_FROM_AUTH: Error from auth handling</summary>
    Auth = 46,
    /// <summary>VIR_FROM_DBUS: Error from DBus</summary>
    Dbus = 47,
    /// <summary>VIR_FROM_PARALLELS: Error from Parallels</summary>
    Parallels = 48,
    /// <summary>VIR_FROM_DEVICE: Error from Device</summary>
    Device = 49,
    /// <summary>VIR_FROM_SSH: Error from libssh2 connection transport</summary>
    Ssh = 50,
    /// <summary>VIR_FROM_LOCKSPACE: Error from lockspace</summary>
    Lockspace = 51,
    /// <summary>VIR_FROM_INITCTL: Error from initctl device communication</summary>
    Initctl = 52,
    /// <summary>VIR_FROM_IDENTITY: Error from identity code</summary>
    Identity = 53,
    /// <summary>VIR_FROM_CGROUP: Error from cgroups</summary>
    Cgroup = 54,
    /// <summary>VIR_FROM_ACCESS: Error from access control manager</summary>
    Access = 55,
    /// <summary>VIR_FROM_SYSTEMD: Error from systemd code</summary>
    Systemd = 56,
    /// <summary>VIR_FROM_BHYVE: Error from bhyve driver</summary>
    Bhyve = 57,
    /// <summary>VIR_FROM_CRYPTO: Error from crypto code</summary>
    Crypto = 58,
    /// <summary>VIR_FROM_FIREWALL: Error from firewall</summary>
    Firewall = 59,
    /// <summary>VIR_FROM_POLKIT: Error from polkit code</summary>
    Polkit = 60,
    /// <summary>VIR_FROM_THREAD: Error from thread utils</summary>
    Thread = 61,
    /// <summary>VIR_FROM_ADMIN: Error from admin backend</summary>
    Admin = 62,
    /// <summary>VIR_FROM_LOGGING: Error from log manager</summary>
    Logging = 63,
    /// <summary>VIR_FROM_XENXL: Error from Xen xl config code</summary>
    Xenxl = 64,
    /// <summary>VIR_FROM_PERF: Error from perf</summary>
    Perf = 65,
    /// <summary>VIR_FROM_LIBSSH: Error from libssh connection transport</summary>
    Libssh = 66,
    /// <summary>VIR_FROM_RESCTRL: Error from resource control</summary>
    Resctrl = 67,
    /// <summary>VIR_FROM_FIREWALLD: Error from firewalld</summary>
    Firewalld = 68,
    /// <summary>VIR_FROM_DOMAIN_CHECKPOINT: Error from domain checkpoint</summary>
    DomainCheckpoint = 69,
    /// <summary>VIR_FROM_TPM: Error from TPM</summary>
    Tpm = 70,
    /// <summary>VIR_FROM_BPF: Error from BPF code</summary>
    Bpf = 71,
    /// <summary>VIR_FROM_CH: Error from Cloud-Hypervisor driver</summary>
    Ch = 72,
}
