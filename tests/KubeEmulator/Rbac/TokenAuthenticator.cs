using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace KubeEmulator.Rbac;

/// <summary>Bearer tokens: one admin token, and tokens bound to ServiceAccounts (issued by tests or by the kubelet).</summary>
internal sealed class TokenAuthenticator
{
    private readonly ConcurrentDictionary<string, UserInfo> _tokens = new(StringComparer.Ordinal);

    public TokenAuthenticator()
    {
        AdminToken = NewToken("admin");
        _tokens[AdminToken] = UserInfo.Admin;
    }

    public string AdminToken { get; }

    public string IssueServiceAccount(string ns, string name)
    {
        var token = NewToken($"sa-{ns}-{name}");
        _tokens[token] = UserInfo.ServiceAccount(ns, name);
        return token;
    }

    public string IssueUser(UserInfo user)
    {
        var token = NewToken("user");
        _tokens[token] = user;
        return token;
    }

    public UserInfo? Authenticate(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return _tokens.GetValueOrDefault(authorization[7..].Trim());
    }

    private static string NewToken(string prefix) => $"kube-emulator-{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}";
}
