using System.Text.RegularExpressions;
using BiT.Chart.Tests.Support;

namespace BiT.Chart.Tests.Monitoring;

/// <summary>
/// docs/metrics.md's way of scraping without prometheus-operator is true: the chart puts the prometheus.io annotations
/// on the operator's pods (only: the trainer pods are the operator's, and carry none), and the trainer scrape config
/// it gives is a valid Prometheus configuration that selects the pods the chart's PodMonitor selects.
/// </summary>
public sealed partial class MetricsDocsTests
{
    private static readonly string Doc = File.ReadAllText(Path.Combine(Repo.Docs, "metrics.md"));

    private static string TrainerScrapeConfig()
    {
        var m = ScrapeBlock().Match(Doc);
        Assert.True(m.Success, "docs/metrics.md has no trainer-scrape-config block");
        return m.Groups[1].Value;
    }

    [Fact]
    public async Task The_documented_trainer_scrape_config_is_valid_for_promtool()
    {
        var dir = Directory.CreateTempSubdirectory("bit-scrape-").FullName;
        try
        {
            var file = Path.Combine(dir, "prometheus.yml");
            // Debian's Prometheus is built without the Kubernetes service discovery (its client library is not
            // packaged), so its promtool refuses kubernetes_sd_configs: check the rest, the relabelling included, with
            // a static target in its place.
            var config = TrainerScrapeConfig();
            const string sd = "    kubernetes_sd_configs:\n      - role: pod\n";
            Assert.Contains(sd, config, StringComparison.Ordinal);
            await File.WriteAllTextAsync(file, config.Replace(sd, "    static_configs:\n      - targets: [\"127.0.0.1:9400\"]\n", StringComparison.Ordinal));
            (await Tool.Promtool.RunAsync("check", "config", "--syntax-only", file)).Ok();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_documented_trainer_scrape_config_selects_what_the_charts_pod_monitor_selects()
    {
        var config = TrainerScrapeConfig();
        var podMonitor = (await HelmChart.TemplateAsync("metrics.podMonitor.enabled=true")).Single("PodMonitor");
        var labels = podMonitor["spec"]!["selector"]!["matchLabels"]!.AsObject();
        Assert.Equal(["app.kubernetes.io/managed-by", "app.kubernetes.io/name"], labels.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.Contains(
            "[__meta_kubernetes_pod_label_app_kubernetes_io_managed_by, __meta_kubernetes_pod_label_app_kubernetes_io_name]\n        regex: "
            + $"{(string)labels["app.kubernetes.io/managed-by"]!};{(string)labels["app.kubernetes.io/name"]!}",
            config,
            StringComparison.Ordinal);
        var port = (string)podMonitor["spec"]!["podMetricsEndpoints"]![0]!["port"]!;
        Assert.Contains($"[__meta_kubernetes_pod_container_port_name]\n        regex: {port}\n", config, StringComparison.Ordinal);
        var nameLabel = (string)podMonitor["spec"]!["podMetricsEndpoints"]![0]!["relabelings"]![0]!["sourceLabels"]![0]!;
        Assert.Contains($"[{nameLabel}]\n        target_label: name", config, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_operators_pods_carry_the_prometheus_io_annotations_and_the_doc_says_so()
    {
        var docs = await HelmChart.TemplateAsync("metrics.podMonitor.enabled=true", "tensorboard.enabled=true", "tensorboard.claimName=shared-checkpoints");
        var annotated = docs
            .Where(d => d["spec"]?["template"]?["metadata"]?["annotations"]?["prometheus.io/scrape"] is not null)
            .Select(d => (string)d["metadata"]!["name"]!)
            .ToList();
        Assert.Equal(["bit-operator"], annotated);
        var operatorPod = docs.Single("Deployment", "bit-operator")["spec"]!["template"]!["metadata"]!["annotations"]!;
        Assert.Equal("true", (string)operatorPod["prometheus.io/scrape"]!);
        Assert.Equal("8080", (string)operatorPod["prometheus.io/port"]!);
        Assert.Contains("carry no `prometheus.io`\n  annotations", Doc, StringComparison.Ordinal);
    }

    [GeneratedRegex("<!-- trainer-scrape-config[^\\n]*-->\\n```yaml\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ScrapeBlock();
}
