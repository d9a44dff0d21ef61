namespace KubeEmulator.Rbac;

/// <summary>The authenticated caller. Admin bypasses RBAC (like system:masters).</summary>
public sealed record UserInfo(string Name, IReadOnlyList<string> Groups, bool IsAdmin)
{
    public static readonly UserInfo Admin = new("kube-emulator-admin", ["system:masters", "system:authenticated"], true);

    /// <summary>The identity the emulator's own controllers (GC, namespace, kubelet) act as.</summary>
    public static readonly UserInfo System = new("system:kube-controller-manager", ["system:masters", "system:authenticated"], true);

    public static UserInfo ServiceAccount(string ns, string name) =>
        new($"system:serviceaccount:{ns}:{name}", ["system:serviceaccounts", $"system:serviceaccounts:{ns}", "system:authenticated"], false);
}
