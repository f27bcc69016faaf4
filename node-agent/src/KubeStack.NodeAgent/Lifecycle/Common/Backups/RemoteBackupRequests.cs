using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.HostTools.Ftp;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>
/// The remote-backup operations of both kinds (VirtualMachine: the VM is the object; VirtualMachinePool: the VM is the
/// <c>domain</c> parameter), from the request's parameters to the handler result (docs/backup.md, remote backups).
/// Error classes: a parameter, a missing/incomplete/damaged/different version, a dependant version or a refused login →
/// VirtctlError; the server unreachable or a transfer that kept breaking → Exception, retried; another refusal of the
/// server → Exception; libvirt (the pool) → LibvirtError. Messages name the server as <c>user@host:port</c>, never the password.
/// </summary>
public static class RemoteBackupRequests
{
    /// <summary>The timeouts and retries the handlers use (tests may lower them).</summary>
    internal static FtpClientOptions ClientOptions { get; set; } = FtpClientOptions.Default;

    internal static FtpRetryPolicy RetryPolicy { get; set; } = FtpRetryPolicy.Default;

    /// <summary>VirtualMachine kind: the VM is the object.</summary>
    public static string ObjectDomain(RequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Name;
    }

    /// <summary>VirtualMachinePool kind: the VM is the <c>domain</c> parameter (it need not exist: backups outlive their VM).</summary>
    public static string DomainParameter(RequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return BackupNames.Require(StorageParameters.Required(context.Parameters, "domain", context.Key), "domain", context.Key);
    }

    /// <summary>pushRemoteBackup: uploads a local version (and the parents it needs) from <c>pool</c>'s backup area.</summary>
    public static Task<HandlerResult> PushAsync(LibvirtHost libvirt, RequestContext context, Func<RequestContext, string> domainOf, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(libvirt);
        ArgumentNullException.ThrowIfNull(context);
        return GuardAsync(context, "Uploading a backup", async () =>
        {
            var domain = domainOf(context);
            var (volume, version) = Identify(context);
            var server = RemoteBackupServer.Required(context.Parameters, context.Key);
            var layout = Area(libvirt, context);
            var report = await RunAsync(server, context, s => s.PushAsync(layout, domain, volume, version, cancellationToken)).ConfigureAwait(false);
            return HandlerResult.Succeeded(message:
                $"Backup version {version} of {What(domain, volume)} is on the FTP server {server} (node {context.NodeName}): {report.Describe("uploaded")}.");
        });
    }

    /// <summary>
    /// The remote leg of backupVM/backupDisk: when the request names an FTP server, pushes the version just made (with
    /// the parents it needs) and returns the sentence to add to the result; null when it names none. An FTP failure is
    /// thrown as a <see cref="StorageRefusedException"/> (mapped like the remote operations, retryable when the server
    /// was unreachable or the transfer kept breaking) whose message says that the local version exists: a retry finds it
    /// complete and only resumes the upload.
    /// </summary>
    public static async Task<string?> PushAfterBackupAsync(BackupLayout layout, RequestContext context, string domain, string? volume, string version,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(context);
        if (RemoteBackupServer.Optional(context.Parameters, context.Key) is not { } server)
        {
            return null;
        }

        try
        {
            var report = await RunAsync(server, context, s => s.PushAsync(layout, domain, volume, version, cancellationToken)).ConfigureAwait(false);
            return $"It is on the FTP server {server} too: {report.Describe("uploaded")}.";
        }
        catch (FtpException ex)
        {
            var failure = (HandlerResult.Failure)Ftp(ex, $"Uploading it to the FTP server {server}", context.NodeName);
            throw new StorageRefusedException(failure.ErrorClass,
                $"Backup version {version} of {What(domain, volume)} was made in {layout.Root}, but {char.ToLowerInvariant(failure.Message[0])}{failure.Message[1..]}",
                failure.Retryable);
        }
    }

    /// <summary>pullRemoteBackup: downloads a remote version (and the parents it needs) into <c>pool</c>'s backup area.</summary>
    public static Task<HandlerResult> PullAsync(LibvirtHost libvirt, RequestContext context, Func<RequestContext, string> domainOf, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(libvirt);
        ArgumentNullException.ThrowIfNull(context);
        return GuardAsync(context, "Pulling a backup", async () =>
        {
            var domain = domainOf(context);
            var (volume, version) = Identify(context);
            var server = RemoteBackupServer.Required(context.Parameters, context.Key);
            var layout = Area(libvirt, context);
            var report = await RunAsync(server, context, s => s.PullAsync(layout, domain, volume, version, cancellationToken)).ConfigureAwait(false);
            return HandlerResult.Succeeded(message:
                $"Backup version {version} of {What(domain, volume)} from the FTP server {server} is in {layout.Root} on node {context.NodeName}: " +
                $"{report.Describe("downloaded")}.");
        });
    }

    /// <summary>
    /// deleteRemoteBackup: deletes one remote version. The server parameters are optional in the catalog, but the agent
    /// keeps no server list (passwords are never stored), so a request without them is refused. A missing version is an
    /// error on the first attempt and success on a resumed one.
    /// </summary>
    public static Task<HandlerResult> DeleteAsync(RequestContext context, Func<RequestContext, string> domainOf, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return GuardAsync(context, "Deleting a remote backup", async () =>
        {
            var domain = domainOf(context);
            var (volume, version) = Identify(context);
            var server = RemoteBackupServer.Optional(context.Parameters, context.Key) ?? throw new RequestParameterException("remote",
                $"{context.Key} needs the FTP server (remote, port, username, password): the agent keeps no list of servers and stores no passwords.");
            var deleted = await RunAsync(server, context, s => s.DeleteVersionAsync(domain, volume, version, cancellationToken)).ConfigureAwait(false);
            if (deleted)
            {
                return HandlerResult.Succeeded(message: $"Backup version {version} of {What(domain, volume)} was deleted from the FTP server {server}.");
            }

            return context.Attempt > 1
                ? HandlerResult.Succeeded(message: $"Backup version {version} of {What(domain, volume)} is no longer on the FTP server {server} (removed by the interrupted attempt).")
                : HandlerResult.Failed(ErrorClasses.VirtctlError, $"The FTP server {server} holds no backup version {version} of {What(domain, volume)}; nothing was deleted.");
        });
    }

    /// <summary>cleanVMRemoteBackup: removes listed versions (comma-separated <c>version</c>) or all (<c>all=true</c>), and partial ones, in the scope.</summary>
    public static Task<HandlerResult> CleanAsync(RequestContext context, Func<RequestContext, string> domainOf, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return GuardAsync(context, "Cleaning remote backups", async () =>
        {
            var domain = domainOf(context);
            var volume = StorageParameters.Optional(context.Parameters, "vol") is { } v ? BackupNames.Require(v, "vol", context.Key) : null;
            var all = StorageParameters.Flag(context.Parameters, "all", context.Key) ?? false;
            var list = StorageParameters.Optional(context.Parameters, "version");
            if (all == (list is not null))
            {
                throw new RequestParameterException("version", $"{context.Key} needs exactly one of version (a comma-separated list) and all=true.");
            }

            var versions = list?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(x => BackupNames.Require(x, "version", context.Key)).ToList();
            var server = RemoteBackupServer.Required(context.Parameters, context.Key);
            var report = await RunAsync(server, context, s => s.CleanAsync(domain, volume, versions, all, cancellationToken)).ConfigureAwait(false);
            var notFound = report.NotFound.Count > 0 ? $" Not on the server: {string.Join(", ", report.NotFound)}." : string.Empty;
            return HandlerResult.Succeeded(message:
                $"Remote backups of {What(domain, volume)} on the FTP server {server}: found {List(report.Found)}; removed {List(report.Removed)}.{notFound}");
        });
    }

    /// <summary>
    /// deleteRemoteBackupServer: retires a backup server for this node: removes from that FTP account the backup versions
    /// this node made (manifest <c>node</c>) and nothing else — other nodes' and other clusters' versions, versions a kept
    /// one builds on and partial versions of unknown origin stay (docs/decisions.md <c>remote-backup-server</c>).
    /// </summary>
    public static Task<HandlerResult> DeleteServerAsync(RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return GuardAsync(context, "Removing this node's backups from an FTP server", async () =>
        {
            var server = RemoteBackupServer.Required(context.Parameters, context.Key);
            var node = context.NodeName;
            var report = await RunAsync(server, context, s => s.RetireNodeBackupsAsync(node, cancellationToken)).ConfigureAwait(false);
            var removed = report.Removed.Count == 0
                ? $"The FTP server {server} holds no backup version made by node {node} that can go; nothing was removed."
                : $"{report.Removed.Count} backup version(s) made by node {node} were removed from the FTP server {server}: {Bounded(report.Removed)}.";
            var kept = report.Kept == 0 ? " Nothing of KubeStack is left there." :
                " Kept:" +
                (report.KeptOtherNodes.Count > 0 ? $" {report.KeptOtherNodes.Count} version(s) made by other nodes ({Bounded(report.KeptOtherNodes)});" : string.Empty) +
                (report.KeptAsParents.Count > 0 ? $" {report.KeptAsParents.Count} of this node's version(s) that kept versions build on ({Bounded(report.KeptAsParents)});" : string.Empty) +
                (report.KeptUnknown.Count > 0 ? $" {report.KeptUnknown.Count} partial version(s) of unknown origin ({Bounded(report.KeptUnknown)});" : string.Empty);
            return HandlerResult.Succeeded(message: removed + kept.TrimEnd(';') + (report.Kept == 0 ? string.Empty : ".") +
                $" Nothing outside {RemoteBackupLayout.Root} was touched; local backups stay.");
        });
    }

    /// <summary>At most 20 labels, then how many more (messages stay bounded).</summary>
    private static string Bounded(IReadOnlyList<string> labels) =>
        labels.Count <= 20 ? string.Join(", ", labels) : $"{string.Join(", ", labels.Take(20))} and {labels.Count - 20} more";

    /// <summary>The backup area of the active pool <c>pool</c>.</summary>
    private static BackupLayout Area(LibvirtHost libvirt, RequestContext context) =>
        BackupSources.Layout(libvirt.Connection, StorageParameters.Required(context.Parameters, "pool", context.Key), context.Key, context.NodeName);

    private static (string? Volume, string Version) Identify(RequestContext context)
    {
        var volume = StorageParameters.Optional(context.Parameters, "vol") is { } v ? BackupNames.Require(v, "vol", context.Key) : null;
        var version = BackupNames.Require(StorageParameters.Required(context.Parameters, "version", context.Key), "version", context.Key);
        return (volume, version);
    }

    private static async Task<T> RunAsync<T>(RemoteBackupServer server, RequestContext context, Func<RemoteBackupStore, Task<T>> work)
    {
        var (session, store) = RemoteBackupStore.Open(server, context.Logger, ClientOptions, RetryPolicy);
        await using (session.ConfigureAwait(false))
        {
            return await work(store).ConfigureAwait(false);
        }
    }

    /// <summary>Maps FTP and format failures; parameters, paths, libvirt and refusals go through <see cref="StorageFailures.GuardAsync"/>.</summary>
    private static Task<HandlerResult> GuardAsync(RequestContext context, string verb, Func<Task<HandlerResult>> action)
    {
        var what = $"{verb} ({context.Key} on {context.Kind} {context.Name})";
        return StorageFailures.GuardAsync(what, context.Key, context.NodeName, async () =>
        {
            try
            {
                return await action().ConfigureAwait(false);
            }
            catch (FtpException ex)
            {
                return Ftp(ex, what, context.NodeName);
            }
            catch (IOException ex)
            {
                return HandlerResult.Failed(ErrorClasses.Exception, $"{what} failed on node {context.NodeName}: {ex.Message}", retryable: true);
            }
        });
    }

    /// <summary>The handler result of an FTP failure (the exception's message names the server and never the password).</summary>
    public static HandlerResult Ftp(FtpException ex, string what, string node)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return ex.Failure switch
        {
            FtpFailure.LoginRefused => HandlerResult.Failed(ErrorClasses.VirtctlError, $"{what} failed on node {node}: {ex.Message}"),
            FtpFailure.Unreachable => HandlerResult.Failed(ErrorClasses.Exception,
                $"{what} failed on node {node}: {ex.Message} Check remote and port and that the server runs; the agent retries.", retryable: true),
            FtpFailure.Interrupted => HandlerResult.Failed(ErrorClasses.Exception,
                $"{what} failed on node {node} after several attempts: {ex.Message} The agent retries; transfers resume where they stopped.", retryable: true),
            _ => HandlerResult.Failed(ErrorClasses.Exception, $"{what} failed on node {node}: {ex.Message}"),
        };
    }

    private static string What(string domain, string? volume) => volume is null ? $"VM {domain}" : $"disk {volume} of VM {domain}";

    private static string List(IReadOnlyList<string> items) => items.Count == 0 ? "nothing" : string.Join(", ", items);
}
