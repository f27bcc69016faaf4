using KubeStack.NodeAgent.Libvirt;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeStack.NodeAgent.Lifecycle.Common;

/// <summary>
/// The agent's one long-lived libvirt connection, opened on first use (so the agent starts, and reports truthful
/// LibvirtErrors, while libvirtd is still down). After it is open, <see cref="LibvirtConnection"/> itself keeps it
/// alive and reconnects. Thread-safe; disposed with the service provider.
/// </summary>
public sealed class LibvirtHost : IDisposable
{
    private readonly Func<LibvirtConnection> _open;
    private readonly Lock _gate = new();
    private LibvirtConnection? _connection;
    private bool _disposed;

    public LibvirtHost(string uri, ILogger? logger = null)
        : this(() => LibvirtConnection.Open(uri, logger: logger ?? NullLogger.Instance))
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        Uri = uri;
    }

    /// <summary>Wraps an opener (tests pass an already open connection: <c>() =&gt; conn</c>).</summary>
    public LibvirtHost(Func<LibvirtConnection> open)
    {
        _open = open ?? throw new ArgumentNullException(nameof(open));
        Uri = "";
    }

    public string Uri { get; }

    /// <summary>Raised once, when the connection was first opened (watchers subscribe then).</summary>
    public event EventHandler<LibvirtConnection>? Opened;

    /// <summary>The connection, opening it when needed; throws <see cref="LibvirtException"/> when libvirtd cannot be reached.</summary>
    public LibvirtConnection Connection
    {
        get
        {
            LibvirtConnection? opened;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_connection is { } existing)
                {
                    return existing;
                }

                opened = _connection = _open();
            }

            Opened?.Invoke(this, opened);
            return opened;
        }
    }

    /// <summary>The connection when it was opened already, else null (never opens).</summary>
    public LibvirtConnection? CurrentOrNull
    {
        get
        {
            lock (_gate)
            {
                return _connection;
            }
        }
    }

    public void Dispose()
    {
        LibvirtConnection? connection;
        lock (_gate)
        {
            _disposed = true;
            connection = _connection;
            _connection = null;
        }

        connection?.Dispose();
    }
}
