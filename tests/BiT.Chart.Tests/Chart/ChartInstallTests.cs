using System.Text.Json.Nodes;
using BiT.Chart.Tests.Support;
using k8s;
using KubeEmulator;

namespace BiT.Chart.Tests.Chart;

/// <summary>
/// The chart on the test cluster with the real helm 4 and kubectl: install, upgrade, uninstall, the rendered objects
/// applied with kubectl, and both documented ways of upgrading the CRDs (docs/install.md).
/// </summary>
public sealed class ChartInstallTests : IAsyncLifetime
{
    // prometheus-operator's own CRDs (tests/BiT.Chart.Tests/Monitoring/prometheus-operator-crds/, copied from its
    // repository with the source noted): the chart's ServiceMonitor, PodMonitor and PrometheusRule are validated
    // against the real schemas, as next to kube-prometheus-stack.
    internal static readonly string MonitoringCrdDir = Path.Combine(Repo.Root, "tests", "BiT.Chart.Tests", "Monitoring", "prometheus-operator-crds");

    private static readonly string MonitoringCrds = string.Join("---\n",
        new[] { "servicemonitors", "podmonitors", "prometheusrules" }.Select(k => File.ReadAllText(Path.Combine(MonitoringCrdDir, $"monitoring.coreos.com_{k}.yaml"))));

    private readonly string _dir = Directory.CreateTempSubdirectory("bit-chart-").FullName;
    private KubeEmulatorServer _server = null!;
    private Kubernetes _client = null!;
    private Dictionary<string, string> _env = null!;

    public async Task InitializeAsync()
    {
        _server = await KubeEmulatorServer.StartAsync(new EmulatorOptions());
        _client = _server.CreateClient();
        var kubeconfig = _server.WriteKubeconfig(Path.Combine(_dir, "kubeconfig"));
        // helm and kubectl keep discovery caches per server address: one per test class.
        _env = new Dictionary<string, string>
        {
            ["KUBECONFIG"] = kubeconfig,
            ["HELM_CACHE_HOME"] = Path.Combine(_dir, "helm-cache"),
            ["HELM_CONFIG_HOME"] = Path.Combine(_dir, "helm-config"),
            ["HELM_DATA_HOME"] = Path.Combine(_dir, "helm-data"),
        };
        await KubectlAsync(null, "create", "namespace", "bit-system");
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<string> HelmAsync(params string[] args) =>
        (await Tool.Helm.RunAsync(args, env: _env)).Ok().Stdout;

    private async Task<string> KubectlAsync(string? stdin, params string[] args) =>
        (await Tool.Kubectl.RunAsync(["--cache-dir", Path.Combine(_dir, "kube-cache"), .. args], stdin, env: _env)).Ok().Stdout;

    private async Task<JsonObject?> GetAsync(string group, string version, string plural, string name, string? ns = "bit-system")
    {
        try
        {
            var obj = ns is null
                ? await _client.CustomObjects.GetClusterCustomObjectAsync(group, version, plural, name)
                : await _client.CustomObjects.GetNamespacedCustomObjectAsync(group, version, ns, plural, name);
            return JsonNode.Parse(KubernetesJson.Serialize(obj))!.AsObject();
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>A copy of the chart whose CRDs carry a marker, as the next chart version's changed CRDs would.</summary>
    private string ChartWithChangedCrds()
    {
        var copy = Path.Combine(_dir, "chart-v2");
        foreach (var file in Directory.EnumerateFiles(Repo.Chart, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(Repo.Chart, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        foreach (var crd in Directory.EnumerateFiles(Path.Combine(copy, "crds")))
        {
            var text = File.ReadAllText(crd);
            var at = text.IndexOf("\nmetadata:\n", StringComparison.Ordinal);
            Assert.True(at > 0, $"{crd} has no metadata block");
            File.WriteAllText(crd, text.Insert(at + "\nmetadata:\n".Length, "  annotations:\n    bit.training/chart-revision: \"2\"\n"));
        }

        return copy;
    }

    private async Task<string?> CrdMarkerAsync() =>
        (string?)(await GetAsync("apiextensions.k8s.io", "v1", "customresourcedefinitions", "bitfinetunejobs.bit.training", ns: null))?["metadata"]?["annotations"]?["bit.training/chart-revision"];

    [Fact]
    public async Task Helm_installs_upgrades_and_uninstalls_the_chart_with_every_switch_on()
    {
        await KubectlAsync(MonitoringCrds, "apply", "--server-side", "-f", "-");
        var install = await HelmAsync("install", "bit", Repo.Chart, "--namespace", "bit-system",
            "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.podMonitor.enabled=true", "--set", "prometheusRule.enabled=true",
            "--set", "dashboard.enabled=true", "--set", "tensorboard.enabled=true", "--set", "tensorboard.claimName=checkpoints");
        Assert.Contains("STATUS: deployed", install, StringComparison.Ordinal);
        Assert.Contains("Your first job", install, StringComparison.Ordinal);

        var deployment = await _client.AppsV1.ReadNamespacedDeploymentAsync("bit-bit-operator", "bit-system");
        Assert.Equal(2, deployment.Spec.Replicas);
        Assert.Equal("bit-bit-operator", deployment.Spec.Template.Spec.ServiceAccountName);
        await _client.AppsV1.ReadNamespacedDeploymentAsync("bit-bit-operator-tensorboard", "bit-system");
        await _client.PolicyV1.ReadNamespacedPodDisruptionBudgetAsync("bit-bit-operator", "bit-system");
        await _client.CoreV1.ReadNamespacedServiceAsync("bit-bit-operator-metrics", "bit-system");
        await _client.CoreV1.ReadNamespacedConfigMapAsync("bit-bit-operator-dashboard", "bit-system");
        await _client.RbacAuthorizationV1.ReadClusterRoleAsync("bit-bit-operator");
        Assert.NotNull(await GetAsync("monitoring.coreos.com", "v1", "servicemonitors", "bit-bit-operator"));
        Assert.NotNull(await GetAsync("monitoring.coreos.com", "v1", "podmonitors", "bit-bit-operator-trainers"));
        var rule = await GetAsync("monitoring.coreos.com", "v1", "prometheusrules", "bit-bit-operator");
        Assert.Equal(7, rule!["spec"]!["groups"]!.AsArray().Sum(g => g!["rules"]!.AsArray().Count));
        Assert.NotNull(await GetAsync("apiextensions.k8s.io", "v1", "customresourcedefinitions", "bitfinetunejobs.bit.training", ns: null));

        await HelmAsync("upgrade", "bit", Repo.Chart, "--namespace", "bit-system", "--reuse-values", "--set", "replicaCount=3");
        deployment = await _client.AppsV1.ReadNamespacedDeploymentAsync("bit-bit-operator", "bit-system");
        Assert.Equal(3, deployment.Spec.Replicas);
        Assert.Equal(2, deployment.Metadata.Generation);
        Assert.Contains("deployed", await HelmAsync("status", "bit", "--namespace", "bit-system"), StringComparison.Ordinal);

        await HelmAsync("uninstall", "bit", "--namespace", "bit-system");
        var left = await _client.AppsV1.ListNamespacedDeploymentAsync("bit-system");
        Assert.Empty(left.Items);
        Assert.Null(await GetAsync("monitoring.coreos.com", "v1", "prometheusrules", "bit-bit-operator"));
        // helm never deletes what crds/ installed: the jobs (and their checkpoints) survive an uninstall.
        Assert.NotNull(await GetAsync("apiextensions.k8s.io", "v1", "customresourcedefinitions", "bitfinetunejobs.bit.training", ns: null));
    }

    [Fact]
    public async Task Kubectl_applies_the_rendered_chart_and_the_server_accepts_every_object()
    {
        await KubectlAsync(MonitoringCrds, "apply", "--server-side", "-f", "-");
        var rendered = await HelmChart.TemplateTextAsync("plain", "metrics.serviceMonitor.enabled=true", "prometheusRule.enabled=true", "dashboard.enabled=true", "crds.templates=true");
        var applied = await KubectlAsync(rendered, "apply", "--server-side", "-f", "-");
        foreach (var expected in new[]
        {
            "customresourcedefinition.apiextensions.k8s.io/bitfinetunejobs.bit.training serverside-applied",
            "deployment.apps/plain-bit-operator serverside-applied",
            "poddisruptionbudget.policy/plain-bit-operator serverside-applied",
            "prometheusrule.monitoring.coreos.com/plain-bit-operator serverside-applied",
            "configmap/plain-bit-operator-dashboard serverside-applied",
        })
        {
            Assert.Contains(expected, applied, StringComparison.Ordinal);
        }

        // Applying the same objects again changes nothing.
        var again = await KubectlAsync(rendered, "apply", "--server-side", "-f", "-");
        Assert.DoesNotContain("created", again, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ServiceMonitor", "spec:\n  selector: {}\n  endpoints: [{port: metrics, scheme: gopher}]\n", "scheme")]
    [InlineData("PodMonitor", "spec:\n  selector: {}\n  podMetricsEndpoints: [{port: metrics, relabelings: [{action: explode}]}]\n", "action")]
    [InlineData("PrometheusRule", "spec:\n  groups: [{name: g, rules: [{alert: A}]}]\n", "expr")]
    public async Task The_real_prometheus_operator_schemas_are_in_force(string kind, string spec, string field)
    {
        // What would pass the open stand-ins this test class used before: refused by the real schemas, naming the field.
        await KubectlAsync(MonitoringCrds, "apply", "--server-side", "-f", "-");
        var bad = $"apiVersion: monitoring.coreos.com/v1\nkind: {kind}\nmetadata: {{name: bad, namespace: bit-system}}\n{spec}";
        var result = await Tool.Kubectl.RunAsync(["--cache-dir", Path.Combine(_dir, "kube-cache"), "apply", "--server-side", "-f", "-"], bad, env: _env);
        Assert.True(result.Exit != 0, $"{kind} accepted: {result.Stdout}");
        Assert.Contains(field, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Helm_upgrade_leaves_crds_alone_and_the_documented_server_side_apply_upgrades_them()
    {
        await HelmAsync("install", "bit", Repo.Chart, "--namespace", "bit-system");
        Assert.Null(await CrdMarkerAsync());
        var v2 = ChartWithChangedCrds();

        await HelmAsync("upgrade", "bit", v2, "--namespace", "bit-system");
        Assert.Null(await CrdMarkerAsync());

        // docs/install.md, "Upgrading": the new chart's CRDs first, then helm upgrade.
        var applied = await KubectlAsync(null, "apply", "--server-side", "--force-conflicts", "-f", Path.Combine(v2, "crds"));
        Assert.Contains("bitfinetunejobs.bit.training serverside-applied", applied, StringComparison.Ordinal);
        Assert.Equal("2", await CrdMarkerAsync());
        await HelmAsync("uninstall", "bit", "--namespace", "bit-system");
    }

    [Fact]
    public async Task With_crds_as_templates_helm_upgrade_upgrades_them_an_existing_release_adopts_them_and_uninstall_keeps_them()
    {
        // An existing release whose CRDs came from crds/ switches over: the CRDs are labelled and annotated for the
        // release (docs/install.md), then upgraded with crds.templates=true.
        await HelmAsync("install", "bit", Repo.Chart, "--namespace", "bit-system");
        foreach (var name in new[] { "crd/bitfinetunejobs.bit.training", "crd/bitpretrainjobs.bit.training" })
        {
            await KubectlAsync(null, "label", name, "app.kubernetes.io/managed-by=Helm");
            await KubectlAsync(null, "annotate", name, "meta.helm.sh/release-name=bit", "meta.helm.sh/release-namespace=bit-system");
        }

        var v2 = ChartWithChangedCrds();
        await HelmAsync("upgrade", "bit", v2, "--namespace", "bit-system", "--set", "crds.templates=true");
        Assert.Equal("2", await CrdMarkerAsync());

        await HelmAsync("uninstall", "bit", "--namespace", "bit-system");
        Assert.Equal("2", await CrdMarkerAsync());

        // A fresh install with the switch on skips crds/ and gets them from the templates.
        await KubectlAsync(null, "delete", "crd", "bitfinetunejobs.bit.training", "bitpretrainjobs.bit.training");
        await TestWait.UntilAsync(async () => await CrdMarkerAsync() is null && await GetAsync("apiextensions.k8s.io", "v1", "customresourcedefinitions", "bitfinetunejobs.bit.training", ns: null) is null, "the CRDs to go");
        await HelmAsync("install", "fresh", v2, "--namespace", "bit-system", "--skip-crds", "--set", "crds.templates=true");
        var crd = await GetAsync("apiextensions.k8s.io", "v1", "customresourcedefinitions", "bitfinetunejobs.bit.training", ns: null);
        Assert.Equal("fresh", (string?)crd!["metadata"]!["annotations"]!["meta.helm.sh/release-name"]);
        Assert.Equal("keep", (string?)crd["metadata"]!["annotations"]!["helm.sh/resource-policy"]);
    }
}
