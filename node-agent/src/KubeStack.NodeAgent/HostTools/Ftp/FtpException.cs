namespace KubeStack.NodeAgent.HostTools.Ftp;

/// <summary>What kind of FTP failure happened; decides retrying and the error class a handler reports.</summary>
public enum FtpFailure
{
    /// <summary>No TCP connection to the server (refused, unreachable, name not resolved, connect timeout).</summary>
    Unreachable,

    /// <summary>The server refused the login (530): wrong user name or password.</summary>
    LoginRefused,

    /// <summary>The server refused a command permanently (5xx other than 530).</summary>
    Refused,

    /// <summary>The remote file or directory does not exist (550 on SIZE/RETR/DELE/CWD).</summary>
    NotFound,

    /// <summary>A connection broke, a transfer stopped early, a timeout passed or the server answered 4xx: worth another try.</summary>
    Interrupted,

    /// <summary>The server's reply could not be understood.</summary>
    Protocol,
}

/// <summary>
/// An FTP operation failed. The message names the server, the command (never PASS's argument: passwords are not
/// shown) and the server's reply; <see cref="ReplyCode"/> is the reply code when there was one.
/// </summary>
public sealed class FtpException : Exception
{
    public FtpException(FtpFailure failure, string message, int? replyCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
        ReplyCode = replyCode;
    }

    public FtpException() : this(FtpFailure.Protocol, "FTP failure.")
    {
    }

    public FtpException(string message) : this(FtpFailure.Protocol, message)
    {
    }

    public FtpException(string message, Exception innerException) : this(FtpFailure.Protocol, message, null, innerException)
    {
    }

    public FtpFailure Failure { get; }
    public int? ReplyCode { get; }

    /// <summary>Another attempt (a new connection) may succeed.</summary>
    public bool IsTransient => Failure is FtpFailure.Interrupted or FtpFailure.Unreachable;
}
