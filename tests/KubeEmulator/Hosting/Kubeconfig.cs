namespace KubeEmulator.Hosting;

/// <summary>A kubeconfig for kubectl and clients: one cluster (plain http on loopback), one token user.</summary>
internal static class Kubeconfig
{
    public static string Render(Uri server, string caPem, string token, string ns) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: kube-emulator
          cluster:
            server: {server.ToString().TrimEnd('/')}
            certificate-authority-data: {Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(caPem))}
        contexts:
        - name: kube-emulator
          context:
            cluster: kube-emulator
            user: kube-emulator-user
            namespace: {ns}
        current-context: kube-emulator
        users:
        - name: kube-emulator-user
          user:
            token: {token}

        """;
}
