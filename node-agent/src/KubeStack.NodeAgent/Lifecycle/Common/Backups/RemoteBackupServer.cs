using System.Globalization;
using System.Text.Json.Nodes;
using KubeStack.NodeAgent.HostTools.Ftp;

namespace KubeStack.NodeAgent.Lifecycle.Common.Backups;

/// <summary>
/// The FTP server of a remote-backup request: the catalog's <c>remote</c>, <c>port</c>, <c>username</c> and
/// <c>password</c> (docs/decisions.md <c>ftp-parameters</c>). The password is taken from the request for the length of
/// the operation only: it is never stored, and <see cref="ToString"/> and every message show the server and the user,
/// never the password.
/// </summary>
public sealed record RemoteBackupServer(FtpEndpoint Endpoint, FtpCredentials Credentials)
{
    public override string ToString() => $"{Credentials.UserName}@{Endpoint}";

    /// <summary>The server of an operation where the four parameters are required (push, pull, clean, deleteRemoteBackupServer).</summary>
    public static RemoteBackupServer Required(JsonObject parameters, string operation) =>
        Optional(parameters, operation) ?? throw new RequestParameterException("remote",
            $"{operation}.remote is required and missing: name the FTP server (remote, port, username, password).");

    /// <summary>
    /// The server where the parameters are optional (backupVM, backupDisk, deleteRemoteBackup): null when none of them
    /// is given; when any is given, <c>remote</c>, <c>username</c> and <c>password</c> are required and <c>port</c>
    /// defaults to 21.
    /// </summary>
    public static RemoteBackupServer? Optional(JsonObject parameters, string operation)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var remote = StorageParameters.Optional(parameters, "remote");
        var portText = StorageParameters.Optional(parameters, "port");
        var user = StorageParameters.Optional(parameters, "username");
        var password = parameters["password"] is null ? null : ReadPassword(parameters, operation);
        if (remote is null && portText is null && user is null && password is null)
        {
            return null;
        }

        foreach (var (value, key) in new[] { (remote, "remote"), (user, "username"), (password, "password") })
        {
            if (value is null)
            {
                throw new RequestParameterException(key,
                    $"{operation}.{key} is missing: the FTP parameters come as a group (remote, username and password; port defaults to 21).");
            }
        }

        if (remote!.Length > 253 || !remote.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or ':'))
        {
            throw new RequestParameterException("remote", $"{operation}.remote '{remote}' must be an IPv4 address or a DNS host name.");
        }

        var port = FtpEndpoint.DefaultPort;
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw new RequestParameterException("port", $"{operation}.port '{portText}' must be a TCP port from 1 to 65535.");
        }

        if (user!.Length > 64 || !user.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '@' or '-'))
        {
            throw new RequestParameterException("username", $"{operation}.username '{user}' must be 1-64 letters, digits, '.', '_', '@' or '-'.");
        }

        return new RemoteBackupServer(new FtpEndpoint(remote, port), new FtpCredentials(user, password!));
    }

    /// <summary>The password as given (not trimmed: spaces may be part of it); its value never appears in a message.</summary>
    private static string? ReadPassword(JsonObject parameters, string operation)
    {
        if (parameters["password"] is not JsonValue value || !value.TryGetValue<string>(out var password))
        {
            throw new RequestParameterException("password", $"{operation}.password must be a string (the value is not shown).");
        }

        if (password.Length == 0)
        {
            return null;
        }

        return password.Length <= 128 && password.All(c => c is >= ' ' and <= '~')
            ? password
            : throw new RequestParameterException("password", $"{operation}.password must be 1-128 printable ASCII characters (the value is not shown).");
    }
}
