using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace KubeStack.HostIntegration.Tests.VmDevices;

/// <summary>What a VNC server answered to one RFB 3.8 handshake.</summary>
/// <param name="SecurityTypes">The security types the server offered (1 = None, 2 = VNC authentication).</param>
/// <param name="Accepted">The SecurityResult: true when the server accepted (the password, or type None).</param>
internal sealed record RfbOutcome(IReadOnlyList<byte> SecurityTypes, bool Accepted);

/// <summary>
/// A minimal RFB 3.8 client (RFC 6143 §7.1-7.2) for the VNC tests: reads the server's version, offers 3.8, reads the
/// security types, and either takes None (type 1) or answers VNC authentication (type 2): the 16-byte challenge
/// encrypted with DES-ECB under the password (8 bytes, zero padded), each key byte with its bits reversed as VNC
/// requires. Only for tests: the protocol's DES is weak by design.
/// </summary>
internal static class VncRfbClient
{
    public static async Task<RfbOutcome> HandshakeAsync(int port, string? password, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, cts.Token);
        var stream = client.GetStream();
        var version = Encoding.ASCII.GetString(await ReadAsync(stream, 12, cts.Token));
        Assert.StartsWith("RFB 003.", version, StringComparison.Ordinal);
        await stream.WriteAsync("RFB 003.008\n"u8.ToArray(), cts.Token);
        var count = (await ReadAsync(stream, 1, cts.Token))[0];
        Assert.True(count > 0, "The VNC server refused the connection (0 security types).");
        var types = await ReadAsync(stream, count, cts.Token);
        if (types.Contains((byte)2) && password is not null)
        {
            await stream.WriteAsync(new byte[] { 2 }, cts.Token);
            var challenge = await ReadAsync(stream, 16, cts.Token);
            await stream.WriteAsync(Response(challenge, password), cts.Token);
        }
        else if (types.Contains((byte)1))
        {
            await stream.WriteAsync(new byte[] { 1 }, cts.Token);
        }
        else
        {
            return new RfbOutcome(types, false);
        }

        var result = await ReadAsync(stream, 4, cts.Token);
        return new RfbOutcome(types, result.All(b => b == 0));
    }

    /// <summary>The VNC authentication response: DES-ECB of the challenge under the bit-reversed password key.</summary>
    public static byte[] Response(byte[] challenge, string password)
    {
        var key = new byte[8];
        var bytes = Encoding.ASCII.GetBytes(password);
        for (var i = 0; i < key.Length && i < bytes.Length; i++)
        {
            key[i] = Reverse(bytes[i]);
        }

#pragma warning disable CA5351 // RFB's VNC authentication is defined with DES; the test must speak it.
        using var des = DES.Create();
#pragma warning restore CA5351
        des.Key = key;
        return des.EncryptEcb(challenge, PaddingMode.None);
    }

    private static byte Reverse(byte b)
    {
        byte r = 0;
        for (var i = 0; i < 8; i++)
        {
            r = (byte)((r << 1) | ((b >> i) & 1));
        }

        return r;
    }

    private static async Task<byte[]> ReadAsync(NetworkStream stream, int length, CancellationToken ct)
    {
        var buffer = new byte[length];
        await stream.ReadExactlyAsync(buffer, ct);
        return buffer;
    }
}
