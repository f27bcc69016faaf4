using System.Buffers.Binary;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace KubeStack.Contracts.Validation;

/// <summary>
/// The semantic formats of the catalog that are not compound seed formats (those are parsed in Formats/, see
/// <see cref="FormatRegistry"/>), and the stricter UUID check of metadata.
/// </summary>
public static class ValueFormats
{
    public static readonly IReadOnlyList<string> SshKeyTypes =
    [
        "ssh-rsa", "ssh-ed25519", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    ];

    /// <summary>uuid=&lt;UUID&gt; where the UUID is one libvirt accepts: 32 lowercase hex digits, optionally 8-4-4-4-12.</summary>
    internal static IReadOnlyList<string> CheckMetadataUuid(string value)
    {
        const string prefix = "uuid=";
        if (!value.StartsWith(prefix, StringComparison.Ordinal))
        {
            return ["must have the form uuid=<UUID>"];
        }

        return IsUuid(value[prefix.Length..])
            ? []
            : ["must carry a UUID libvirt accepts: 32 lowercase hex digits, optionally grouped 8-4-4-4-12 with '-'"];
    }

    public static bool IsUuid(string value)
    {
        var hex = value.Replace("-", "", StringComparison.Ordinal);
        var dashedOk = !value.Contains('-', StringComparison.Ordinal)
                       || (value.Length == 36 && value[8] == '-' && value[13] == '-' && value[18] == '-' && value[23] == '-');
        return dashedOk && hex.Length == 32 && hex.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');
    }

    /// <summary>An OpenSSH public key line: type, base64 key blob whose embedded type matches, optional comment.</summary>
    internal static IReadOnlyList<string> CheckSshPublicKey(string value)
    {
        var parts = value.Split(' ', 3);
        if (parts.Length < 2 || !SshKeyTypes.Contains(parts[0]))
        {
            return [$"must be an OpenSSH public key line '<type> <base64 key> [comment]' with a type among {string.Join(", ", SshKeyTypes)}"];
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(parts[1]);
        }
        catch (FormatException)
        {
            return ["must carry the key as base64 after the key type"];
        }

        if (blob.Length < 4)
        {
            return ["must carry a complete key blob"];
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(blob);
        if (length > blob.Length - 4 || System.Text.Encoding.ASCII.GetString(blob, 4, (int)length) != parts[0])
        {
            return [$"must carry a key blob of type {parts[0]} (the base64 part does not match the key type)"];
        }

        return [];
    }

    /// <summary>cloud-init user data: must parse as YAML (a '#cloud-config' document or a script, which is a YAML scalar).</summary>
    internal static IReadOnlyList<string> CheckCloudInitUserData(string value)
    {
        try
        {
            var stream = new YamlStream();
            using var reader = new StringReader(value);
            stream.Load(reader);
            return [];
        }
        catch (YamlException e)
        {
            return [$"must be valid YAML, but line {e.Start.Line} column {e.Start.Column} does not parse"];
        }
    }
}
