using KubeStack.Contracts.Resources;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Lifecycle.Common;
using KubeStack.NodeAgent.Runtime;

namespace KubeStack.NodeAgent.Tests.Libvirt;

/// <summary>
/// The errors a request meets while libvirtd restarts (seen in LibvirtdRestartTests against node2's daemon) are
/// retryable LibvirtErrors; a pool refresh refused because a volume is being built in it is too.
/// </summary>
public sealed class LibvirtRestartErrorTests
{
    [Theory]
    [InlineData("virStoragePoolLookupByName", VirErrorNumber.SystemError, VirErrorDomain.Rpc, "Cannot recv data: Connection reset by peer")]
    [InlineData("virStoragePoolBuild", VirErrorNumber.SystemError, VirErrorDomain.Rpc, "End of file while reading data: Input/output error")]
    [InlineData("virStoragePoolRefresh", VirErrorNumber.InternalError, VirErrorDomain.Rpc, "internal error: client socket is closed")]
    [InlineData("virConnect", VirErrorNumber.NoConnect, VirErrorDomain.None, "the connection to qemu+tcp://10.77.2.2/system is lost; reconnecting in the background, retry later")]
    [InlineData("virConnectOpen", VirErrorNumber.SystemError, VirErrorDomain.Rpc, "unable to connect to server at '10.77.2.2:16509': Connection refused")]
    public void A_libvirtd_restart_mid_call_is_a_retryable_LibvirtError(string function, VirErrorNumber code, VirErrorDomain domain, string message)
    {
        var ex = new LibvirtException(function, code, domain, message);
        Assert.True(ex.IsConnectionFailure);
        var failure = Assert.IsType<HandlerResult.Failure>(StorageFailures.Libvirt(ex, "Creating disk d1", "node-a"));
        Assert.Equal((ErrorClasses.LibvirtError, true), (failure.ErrorClass, failure.Retryable));
        Assert.DoesNotContain("retries it", failure.Message, StringComparison.Ordinal); // only the runtime knows whether it will
    }

    [Fact]
    public void A_pool_refresh_refused_while_a_volume_is_being_built_is_retryable()
    {
        var busy = new LibvirtException("virStoragePoolRefresh", VirErrorNumber.InternalError, VirErrorDomain.Storage,
            "internal error: pool 'p1' has asynchronous jobs running.");
        Assert.True(busy.IsPoolBusy);
        Assert.True(busy.IsRetryable);
        Assert.False(busy.IsConnectionFailure);
        Assert.True(Assert.IsType<HandlerResult.Failure>(StorageFailures.Libvirt(busy, "Creating disk d1", "node-a")).Retryable);
    }

    [Theory]
    [InlineData("virStoragePoolRefresh", VirErrorNumber.OperationInvalid, VirErrorDomain.Storage)] // pool not active: the user's to fix
    [InlineData("virStorageVolCreateXML", VirErrorNumber.InternalError, VirErrorDomain.Storage)]   // the refresh rule names one call only
    [InlineData("virStoragePoolRefresh", VirErrorNumber.InternalError, VirErrorDomain.Qemu)]
    public void Other_storage_errors_stay_final(string function, VirErrorNumber code, VirErrorDomain domain)
    {
        var ex = new LibvirtException(function, code, domain, "pool 'p1' has asynchronous jobs running.");
        Assert.False(ex.IsPoolBusy);
        Assert.False(ex.IsRetryable);
    }
}
