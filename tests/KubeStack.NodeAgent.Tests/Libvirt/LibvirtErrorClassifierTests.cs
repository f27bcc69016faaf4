using System.Runtime.CompilerServices;
using KubeStack.NodeAgent.Libvirt;
using KubeStack.NodeAgent.Libvirt.Native;

namespace KubeStack.NodeAgent.Tests.Libvirt;

public sealed class LibvirtErrorClassifierTests
{
    [Theory]
    [InlineData(VirErrorNumber.NoDomain, true, false, false, false)]
    [InlineData(VirErrorNumber.OperationInvalid, false, true, false, false)]
    [InlineData(VirErrorNumber.NoStoragePool, false, false, true, false)]
    [InlineData(VirErrorNumber.NoStorageVol, false, false, false, true)]
    [InlineData(VirErrorNumber.InternalError, false, false, false, false)]
    public void Classification_is_by_error_number(VirErrorNumber code, bool noDomain, bool invalid, bool noPool, bool noVol)
    {
        var ex = new LibvirtException("virX", code, VirErrorDomain.Qemu, "any text: domain not found, not valid, ...");
        Assert.Equal(noDomain, ex.IsNoDomain);
        Assert.Equal(invalid, ex.IsOperationInvalid);
        Assert.Equal(noPool, ex.IsNoStoragePool);
        Assert.Equal(noVol, ex.IsNoStorageVol);
    }

    [Fact]
    public void The_message_text_never_decides_the_class()
    {
        var ex = new LibvirtException("virDomainLookupByName", VirErrorNumber.InternalError, VirErrorDomain.Qemu, "Domain not found: no domain with matching name");
        Assert.False(ex.IsNoDomain);
        Assert.False(ex.IsNotFound);
    }

    [Theory]
    [InlineData(VirErrorNumber.SystemError, VirErrorDomain.Rpc, true)]      // "Cannot write data: Broken pipe"
    [InlineData(VirErrorNumber.InternalError, VirErrorDomain.Rpc, true)]    // "client socket is closed"
    [InlineData(VirErrorNumber.NoConnect, VirErrorDomain.Remote, true)]
    [InlineData(VirErrorNumber.InvalidConn, VirErrorDomain.None, true)]
    [InlineData(VirErrorNumber.SystemError, VirErrorDomain.Qemu, false)]    // a host call failed, not the transport
    [InlineData(VirErrorNumber.OperationInvalid, VirErrorDomain.Rpc, false)]
    public void Connection_failures_are_transport_errors(VirErrorNumber code, VirErrorDomain domain, bool expected)
    {
        Assert.Equal(expected, LibvirtErrorClassifier.IsConnectionFailure(code, domain));
        if (expected) Assert.True(LibvirtErrorClassifier.IsRetryable(code, domain));
    }

    [Theory]
    [InlineData(VirErrorNumber.OperationTimeout, true)]
    [InlineData(VirErrorNumber.AgentUnresponsive, true)]
    [InlineData(VirErrorNumber.XmlError, false)]
    [InlineData(VirErrorNumber.OperationInvalid, false)]
    public void Retryable_errors(VirErrorNumber code, bool expected) =>
        Assert.Equal(expected, LibvirtErrorClassifier.IsRetryable(code, VirErrorDomain.Qemu));

    [Fact]
    public void Exception_message_carries_function_code_and_libvirt_message()
    {
        var ex = new LibvirtException("virDomainCreateWithFlags", VirErrorNumber.OperationInvalid, VirErrorDomain.Qemu, "domain is already running");
        Assert.Equal("virDomainCreateWithFlags failed: domain is already running (libvirt error OperationInvalid/55, from Qemu)", ex.Message);
    }

    [Fact]
    public void Error_numbers_match_libvirt_abi()
    {
        Assert.Equal(42, (int)VirErrorNumber.NoDomain);
        Assert.Equal(55, (int)VirErrorNumber.OperationInvalid);
        Assert.Equal(49, (int)VirErrorNumber.NoStoragePool);
        Assert.Equal(50, (int)VirErrorNumber.NoStorageVol);
        Assert.Equal(7, (int)VirErrorDomain.Rpc);
        Assert.Equal(10, (int)VirErrorDomain.Qemu);
    }

    [Fact]
    public void Native_struct_layouts_match_the_C_headers_on_x86_64()
    {
        Assert.Equal(80, Unsafe.SizeOf<VirErrorNative>());
        Assert.Equal(40, Unsafe.SizeOf<VirDomainInfoNative>());
        Assert.Equal(32, Unsafe.SizeOf<VirStoragePoolInfoNative>());
        Assert.Equal(24, Unsafe.SizeOf<VirStorageVolInfoNative>());
        Assert.Equal(96, Unsafe.SizeOf<VirTypedParameterNative>());
        Assert.Equal(24, Unsafe.SizeOf<VirDomainStatsRecordNative>());
    }

    [Theory]
    [InlineData(DomainLifecycleEventType.Stopped, 1, "Destroyed")]
    [InlineData(DomainLifecycleEventType.Stopped, 0, "Shutdown")]
    [InlineData(DomainLifecycleEventType.Started, 0, "Booted")]
    [InlineData(DomainLifecycleEventType.Defined, 1, "Updated")]
    [InlineData(DomainLifecycleEventType.Suspended, 99, "99")]
    public void Event_details_are_named(DomainLifecycleEventType evt, int detail, string name) =>
        Assert.Equal(name, DomainEventDetails.Name(evt, detail));
}
