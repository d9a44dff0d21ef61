using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace BiT.Model;

/// <summary>
/// What a weights download may reach and how much it may take. The default is strict: https only, public addresses
/// only (no loopback, link-local such as the 169.254.169.254 metadata service, private or CGNAT ranges), at most
/// 5 redirects, each checked like the first URL, 8 GiB, a 30 s connect timeout and 2 minutes without a byte. An
/// operator opts in to more with the environment of the trainer (docs/reliability.md, "Weights downloads").
/// </summary>
public sealed record WeightsDownloadPolicy
{
    /// <summary>Allow plain http:// (default: https only).</summary>
    public bool AllowHttp { get; init; }

    /// <summary>Allow loopback, link-local, private and other non-public addresses (default: refused).</summary>
    public bool AllowPrivateNetworks { get; init; }

    /// <summary>Hosts (as written in URLs) that may be at non-public addresses: an internal mirror, without opening every private address.</summary>
    public IReadOnlySet<string> PrivateHosts { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The largest file accepted, in bytes.</summary>
    public long MaxBytes { get; init; } = 8L << 30;

    /// <summary>Redirects followed before giving up.</summary>
    public int MaxRedirects { get; init; } = 5;

    /// <summary>Connecting to one address may take this long.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The server may send nothing (headers or body) for this long before the download is abandoned.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The environment variables an operator sets on trainer pods to loosen the policy.</summary>
    public const string AllowHttpVariable = BiT.Contracts.Pods.TrainerEnv.WeightsAllowHttp;

    /// <inheritdoc cref="AllowHttpVariable"/>
    public const string AllowPrivateNetworksVariable = BiT.Contracts.Pods.TrainerEnv.WeightsAllowPrivateNetworks;

    /// <inheritdoc cref="AllowHttpVariable"/>
    public const string MaxBytesVariable = BiT.Contracts.Pods.TrainerEnv.WeightsMaxBytes;

    /// <inheritdoc cref="AllowHttpVariable"/>
    public const string PrivateHostsVariable = BiT.Contracts.Pods.TrainerEnv.WeightsPrivateHosts;

    /// <summary>The policy from <c>BIT_WEIGHTS_ALLOW_HTTP</c>, <c>BIT_WEIGHTS_ALLOW_PRIVATE_NETWORKS</c> (true/1) and <c>BIT_WEIGHTS_MAX_BYTES</c>.</summary>
    /// <exception cref="ArgumentException">A variable holds something else.</exception>
    public static WeightsDownloadPolicy FromEnvironment(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var policy = new WeightsDownloadPolicy
        {
            AllowHttp = Flag(environment, AllowHttpVariable),
            AllowPrivateNetworks = Flag(environment, AllowPrivateNetworksVariable),
            PrivateHosts = (environment(PrivateHostsVariable) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .ToHashSet(StringComparer.OrdinalIgnoreCase),
        };
        if (environment(MaxBytesVariable) is { Length: > 0 } max)
        {
            if (!long.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) || bytes <= 0)
            {
                throw new ArgumentException($"{MaxBytesVariable} must be a positive number of bytes, got '{max}'");
            }
            policy = policy with { MaxBytes = bytes };
        }
        return policy;
    }

    private static bool Flag(Func<string, string?> environment, string name) => environment(name)?.Trim().ToLowerInvariant() switch
    {
        null or "" or "0" or "false" => false,
        "1" or "true" => true,
        var other => throw new ArgumentException($"{name} must be true or false, got '{other}'"),
    };

    /// <summary>Why <paramref name="url"/> may not be fetched (scheme, or a literal address), or null.</summary>
    public string? UrlProblem(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            return $"weights URL '{url}' must be an absolute https:// URL";
        }
        if (url.Scheme == Uri.UriSchemeHttp && !AllowHttp)
        {
            return $"weights URL '{url}' is plain http; only https is allowed unless the operator allows http ({AllowHttpVariable})";
        }
        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            return $"weights URL '{url.GetLeftPart(UriPartial.Scheme)}{url.Host}...' must not carry credentials";
        }
        return IPAddress.TryParse(url.DnsSafeHost, out var literal) ? AddressProblem(url.Host, literal) : null;
    }

    /// <summary>Why connecting to <paramref name="address"/> is not allowed, or null.</summary>
    public string? AddressProblem(string host, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return AllowPrivateNetworks || PrivateHosts.Contains(host) || !IsNonPublic(address) ? null
            : $"weights host {host} is at {address}, a loopback, link-local or private address, which the weights policy refuses ({AllowPrivateNetworksVariable}, {PrivateHostsVariable})";
    }

    /// <summary>Loopback, link-local, private (RFC 1918, ULA), CGNAT, unspecified, multicast, or an IPv4-mapped one of these.</summary>
    public static bool IsNonPublic(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.IPv6None))
        {
            return true;
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] is 0 or 10 or 127 or >= 224
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] is >= 16 and <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 100 && b[1] is >= 64 and <= 127)
                || (b[0] == 192 && b[1] == 0 && b[2] == 0);
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (b[0] & 0xFE) == 0xFC;
        }
        return true;
    }
}
