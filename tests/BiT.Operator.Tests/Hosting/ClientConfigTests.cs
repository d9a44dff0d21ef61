using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using BiT.Operator.Hosting;
using k8s;
using k8s.KubeConfigModels;

namespace BiT.Operator.Tests.Hosting;

/// <summary>
/// The operator reads kubeconfig files itself (not through the client library's KubernetesYaml, which keeps
/// reflection data for every model type resident); what it reads must be what the library reads.
/// </summary>
public sealed class ClientConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bit-kubeconfig-").FullName;
    private readonly X509Certificate2 _ca;

    public ClientConfigTests()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=test-ca", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string CaPem => _ca.ExportCertificatePem();

    private string CaData => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(CaPem));

    private string Write(string relative, string text)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private string Rich() => $$"""
        apiVersion: v1
        kind: Config
        preferences: {colors: true}
        current-context: dev
        clusters:
        - name: prod
          cluster:
            server: https://10.0.0.1:6443
            certificate-authority-data: {{CaData}}
            tls-server-name: api.prod
            proxy-url: http://proxy:3128
            extensions:
            - name: ext
              extension: {a: b}
        - name: dev
          cluster:
            server: https://127.0.0.1:6443
            certificate-authority: certs/ca.crt
        - name: plain
          cluster:
            server: http://127.0.0.1:8080
            insecure-skip-tls-verify: true
        contexts:
        - name: dev
          context: {cluster: dev, user: alice, namespace: ml}
        - name: prod
          context: {cluster: prod, user: bob}
        - name: plain
          context: {cluster: plain, user: carol}
        users:
        - name: alice
          user:
            token: abc
        - name: bob
          user:
            client-certificate-data: Y2VydA==
            client-key-data: a2V5
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: aws
              args: [eks, get-token]
              env: [{name: AWS_PROFILE, value: p}]
              interactiveMode: Never
              provideClusterInfo: true
        - name: carol
          user:
            username: c
            password: p
            auth-provider:
              name: oidc
              config: {client-id: x, id-token: y}
        unknown-top-level: ignored
        """;

    [Fact]
    public void A_kubeconfig_file_reads_as_the_library_reads_it()
    {
        var file = Write("kube/config", Rich());
        var ours = ClientConfig.ReadKubeConfig(file);
        var library = KubernetesYaml.Deserialize<K8SConfiguration>(File.ReadAllText(file));
        Assert.Equal(Path.GetFullPath(file), ours.FileName);

        ours.FileName = null;
        library.FileName = null;
        var options = new JsonSerializerOptions { WriteIndented = true };
        Assert.Equal(JsonSerializer.Serialize(library, options), JsonSerializer.Serialize(ours, options));
        Assert.Contains("get-token", JsonSerializer.Serialize(ours), StringComparison.Ordinal);
    }

    [Fact]
    public void The_client_configuration_matches_the_library_and_relative_paths_resolve_against_the_file()
    {
        Write("kube/certs/ca.crt", CaPem);
        var file = Write("kube/config", Rich());

        // From another working directory: certs/ca.crt is next to the kubeconfig, not under the current directory.
        var ours = ClientConfig.Load(file, null);
        var library = KubernetesClientConfiguration.BuildConfigFromConfigFile(file);
        Assert.Equal(("dev", "https://127.0.0.1:6443", "ml", "abc"), (ours.CurrentContext, ours.Host, ours.Namespace, ours.AccessToken));
        Assert.Equal((library.CurrentContext, library.Host, library.Namespace, library.AccessToken), (ours.CurrentContext, ours.Host, ours.Namespace, ours.AccessToken));
        Assert.Equal(_ca.Thumbprint, Assert.Single(ours.SslCaCerts).Thumbprint);

        var plain = ClientConfig.Load(file, "plain");
        Assert.Equal(("http://127.0.0.1:8080", true, "c", "p"), (plain.Host, plain.SkipTlsVerify, plain.Username, plain.Password));
    }

    [Fact]
    public void Kubeconfig_files_listed_in_KUBECONFIG_merge_first_wins_and_missing_ones_are_skipped()
    {
        Write("b/ca.crt", CaPem);
        var a = Write("a/config", """
            current-context: one
            clusters:
            - {name: c1, cluster: {server: "http://127.0.0.1:1001"}}
            contexts:
            - {name: one, context: {cluster: c1, user: u1}}
            users:
            - {name: u1, user: {token: first}}
            """);
        var b = Write("b/config", """
            current-context: two
            clusters:
            - {name: c1, cluster: {server: "http://127.0.0.1:9999"}}
            - {name: c2, cluster: {server: "https://127.0.0.1:1002", certificate-authority: ca.crt}}
            contexts:
            - {name: one, context: {cluster: c2, user: u2}}
            - {name: two, context: {cluster: c2, user: u2, namespace: ns2}}
            users:
            - {name: u1, user: {token: second}}
            - {name: u2, user: {token: two}}
            """);
        var list = string.Join(':', a, Path.Combine(_dir, "missing"), b);

        var first = ClientConfig.FromKubeConfigVariable(list, null);
        Assert.Equal(("one", "http://127.0.0.1:1001", "first"), (first.CurrentContext, first.Host, first.AccessToken));

        var second = ClientConfig.FromKubeConfigVariable(list, "two");
        Assert.Equal(("https://127.0.0.1:1002", "two", "ns2"), (second.Host, second.AccessToken, second.Namespace));
        Assert.Equal(_ca.Thumbprint, Assert.Single(second.SslCaCerts).Thumbprint);
    }

    [Fact]
    public void Bad_kubeconfigs_are_configuration_errors_that_name_the_file()
    {
        var missing = Path.Combine(_dir, "nope");
        var ex = Assert.Throws<ConfigurationException>(() => ClientConfig.Load(missing, null));
        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
        Assert.Contains("--kubeconfig", ex.Message, StringComparison.Ordinal);

        var broken = Write("broken", "clusters: [ {name: x\n  : :");
        ex = Assert.Throws<ConfigurationException>(() => ClientConfig.Load(broken, null));
        Assert.Contains(Path.GetFullPath(broken), ex.Message, StringComparison.Ordinal);

        var noContext = Write("nocontext", "current-context: ghost\nclusters: []\ncontexts: []\nusers: []\n");
        ex = Assert.Throws<ConfigurationException>(() => ClientConfig.Load(noContext, null));
        Assert.Contains("ghost", ex.Message, StringComparison.Ordinal);

        ex = Assert.Throws<ConfigurationException>(() => ClientConfig.FromKubeConfigVariable(missing + ":" + missing + "2", null));
        Assert.Contains("KUBECONFIG", ex.Message, StringComparison.Ordinal);
    }
}
