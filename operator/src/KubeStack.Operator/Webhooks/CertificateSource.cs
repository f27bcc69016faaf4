using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace KubeStack.Operator.Webhooks;

/// <summary>The webhook's serving certificate, asked for on every TLS handshake (so a rotated one is used at once).</summary>
public interface ICertificateSource
{
    X509Certificate2 Current();

    /// <summary>PEM of the CA that signed <see cref="Current"/> (the webhook configuration's caBundle), when known.</summary>
    string? CaBundlePem { get; }
}

/// <summary>
/// Certificate and key from PEM files (the Secret the Helm chart mounts, or cert-manager's): reloaded when either file
/// changes (the kubelet swaps mounted Secrets atomically), checked at most once a second; a broken new pair keeps the
/// last good one and logs why.
/// </summary>
public sealed class FileCertificateSource : ICertificateSource, IDisposable
{
    private readonly string _certPath;
    private readonly string _keyPath;
    private readonly string? _caPath;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private X509Certificate2 _current;
    private (DateTime Cert, DateTime Key) _stamp;
    private DateTime _checkedAt;

    public FileCertificateSource(string certPath, string keyPath, string? caPath, ILogger logger)
    {
        _certPath = certPath;
        _keyPath = keyPath;
        _caPath = caPath;
        _logger = logger;
        _stamp = Stamp();
        _current = Load();
        _checkedAt = DateTime.UtcNow;
    }

    public string? CaBundlePem => _caPath is not null && File.Exists(_caPath) ? File.ReadAllText(_caPath) : null;

    /// <summary>How many times the certificate was (re)loaded after the first load.</summary>
    public int Reloads { get; private set; }

    public X509Certificate2 Current()
    {
        lock (_lock)
        {
            var now = DateTime.UtcNow;
            if (now - _checkedAt < TimeSpan.FromSeconds(1))
            {
                return _current;
            }

            _checkedAt = now;
            var stamp = Stamp();
            if (stamp == _stamp)
            {
                return _current;
            }

            try
            {
                var next = Load();
                _current = next; // the old certificate may still serve handshakes in flight: it is left to the GC
                _stamp = stamp;
                Reloads++;
                _logger.LogInformation("Webhook certificate reloaded from {Cert}: subject {Subject}, expires {Expires:u}.", _certPath, next.Subject, next.NotAfter);
            }
            catch (Exception ex) when (ex is CryptographicException or IOException)
            {
                _logger.LogWarning("Webhook certificate {Cert} changed but cannot be loaded ({Error}); still serving the previous one.", _certPath, ex.Message);
            }

            return _current;
        }
    }

    private (DateTime, DateTime) Stamp() => (File.GetLastWriteTimeUtc(_certPath), File.GetLastWriteTimeUtc(_keyPath));

    private X509Certificate2 Load()
    {
        using var pem = X509Certificate2.CreateFromPemFile(_certPath, _keyPath);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    public void Dispose() => _current.Dispose();
}

/// <summary>Development mode: a self-signed certificate made in memory (its own CA), for the given DNS names and IPs.</summary>
public sealed class SelfSignedCertificateSource : ICertificateSource, IDisposable
{
    private readonly X509Certificate2 _cert;

    public SelfSignedCertificateSource(IEnumerable<string> dnsNames, TimeSpan? lifetime = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kubestack-operator-webhook", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        foreach (var name in dnsNames.Where(n => n.Length > 0))
        {
            if (IPAddress.TryParse(name, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var made = request.CreateSelfSigned(now.AddMinutes(-5), now + (lifetime ?? TimeSpan.FromDays(365)));
        _cert = X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pkcs12), null);
        CaBundlePem = _cert.ExportCertificatePem();
    }

    public string? CaBundlePem { get; }

    public X509Certificate2 Current() => _cert;

    public void Dispose() => _cert.Dispose();
}
