using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Api;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// The chart's alert rules in a real Prometheus (Debian's prometheus package) on 127.0.0.1, scraping the operator and
/// a trainer on the test cluster: BiTJobStalled fires for a trainer stopped with SIGSTOP and never for a healthy one,
/// read through Prometheus's HTTP API. The rules are the chart's PrometheusRule rendered by helm with short
/// thresholds (prometheusRule.alerts.stalled.*), evaluated and scraped every second.
/// </summary>
public sealed class PrometheusAlertEndToEndTests
{
    private const int SecondsWithoutProgress = 25;

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoPaths.Root };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>The chart's PrometheusRule, rendered by helm, as a Prometheus rule file (its spec's groups).</summary>
    private static async Task<string> RenderRulesAsync()
    {
        var (exit, stdout, stderr) = await RunAsync("helm", "template", "bit-operator", RepoPaths.Chart, "--show-only", "templates/prometheusrule.yaml",
            "--set", "prometheusRule.enabled=true",
            "--set", $"prometheusRule.alerts.stalled.secondsWithoutProgress={SecondsWithoutProgress}",
            "--set", "prometheusRule.alerts.stalled.for=3s",
            "--set", "prometheusRule.operatorSelector=job=\"bit-operator\"");
        Assert.True(exit == 0, $"helm template: {stderr}");
        var lines = stdout.Split('\n');
        var spec = Array.IndexOf(lines, "spec:");
        Assert.True(spec > 0, stdout);
        return string.Join('\n', lines.Skip(spec + 1).Where(l => l.Length >= 2).Select(l => l[2..])) + "\n";
    }

    private static async Task<JsonNode> ApiAsync(int port, string pathAndQuery)
    {
        var body = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{port}{pathAndQuery}"));
        var json = JsonNode.Parse(body)!;
        Assert.Equal("success", (string?)json["status"]);
        return json["data"]!;
    }

    private static async Task<JsonArray> QueryAsync(int port, string promql) =>
        (await ApiAsync(port, "/api/v1/query?query=" + Uri.EscapeDataString(promql)))["result"]!.AsArray();

    private static async Task<IReadOnlyList<JsonNode>> AlertsAsync(int port, string alertname) =>
        [.. (await ApiAsync(port, "/api/v1/alerts"))["alerts"]!.AsArray().Where(a => (string?)a!["labels"]!["alertname"] == alertname).Select(a => a!)];

    [Fact]
    public async Task BiTJobStalled_fires_in_a_real_prometheus_for_a_stopped_trainer_and_not_for_a_healthy_one()
    {
        var dir = Directory.CreateTempSubdirectory("bit-prometheus-").FullName;
        var trainerPort = FreePort();
        var options = new EmulatorOptions { RunPods = true };
        options.ImageMap[TestCluster.TrainerImage] = TrainerCluster.TrainerPath;
        await using var cluster = await TestCluster.StartAsync(options);
        await ChartRbacTests.InstallChartRbacAsync(cluster);
        var settings = ChartRbacTests.ChartSettings();
        settings = settings with { Controller = settings.Controller with { TrainerMetricsPort = trainerPort } };
        await using var op = cluster.StartOperator(settings, cluster.Server.IssueServiceAccountToken(ChartRbacTests.OperatorNamespace, ChartRbacTests.OperatorAccount));
        var operatorPort = await op.Host.MetricsPort.WaitAsync(TimeSpan.FromSeconds(30));

        await File.WriteAllTextAsync(Path.Combine(dir, "rules.yaml"), await RenderRulesAsync());
        await File.WriteAllTextAsync(Path.Combine(dir, "prometheus.yml"), """
            global:
              scrape_interval: 1s
              scrape_timeout: 900ms
              evaluation_interval: 1s
            rule_files: [rules.yaml]
            scrape_configs:
              - job_name: bit-operator
                honor_labels: true
                static_configs: [{"targets": ["127.0.0.1:{{operatorPort}}"]}]
              - job_name: bit-trainer
                # The labels the chart's PodMonitor gives a trainer pod's series (namespace, and name from the pod's
                # bit.training/job-name label). Every local pod is 127.0.0.1 and the trainers share one metrics port:
                # the trainer holding it is named in trainers.json, rewritten when the next one takes the port.
                file_sd_configs: [{"files": ["trainers.json"], "refresh_interval": 1s}]
            """.Replace("{{operatorPort}}", operatorPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        async Task ScrapeTrainerAsync(string name) =>
            await File.WriteAllTextAsync(Path.Combine(dir, "trainers.json"),
                new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
                {
                    ["targets"] = new System.Text.Json.Nodes.JsonArray($"127.0.0.1:{trainerPort}"),
                    ["labels"] = new System.Text.Json.Nodes.JsonObject { ["namespace"] = TestCluster.Namespace, ["name"] = name },
                }).ToJsonString());
        await ScrapeTrainerAsync("short");
        var check = await RunAsync("promtool", "check", "config", Path.Combine(dir, "prometheus.yml"));
        Assert.True(check.Exit == 0, check.Stdout + check.Stderr);

        var prometheusPort = FreePort();
        var psi = new ProcessStartInfo("prometheus") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in new[] { $"--config.file={dir}/prometheus.yml", $"--storage.tsdb.path={dir}/data", $"--web.listen-address=127.0.0.1:{prometheusPort}" })
        {
            psi.ArgumentList.Add(a);
        }

        using var prometheus = Process.Start(psi)!;
        var log = new System.Text.StringBuilder();
        prometheus.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        prometheus.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        prometheus.BeginErrorReadLine();
        prometheus.BeginOutputReadLine();
        var stoppedPid = 0;
        var recordingStart = DateTimeOffset.UtcNow;
        try
        {
            await TestCluster.WaitUntilAsync(async () =>
            {
                Assert.False(prometheus.HasExited, $"prometheus exited: {log}");
                try
                {
                    return (await Http.GetAsync(new Uri($"http://127.0.0.1:{prometheusPort}/-/ready"))).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(120), "prometheus to be ready");

            // A short job first (what the dashboard's progress, restarts and top-1 panels show): it progresses, its
            // trainer is killed once after its first checkpoint (a restart), resumes from it and finishes with its
            // evaluation (the operator's bit_job_top1). It holds the trainer metrics port while it runs.
            // 60 steps, a checkpoint every 2: on a fast machine (~17 steps/s) the kill after the first checkpoint still
            // has seconds to spare before the run could end; on a loaded one (~0.5 steps/s) the job takes a few minutes.
            await cluster.CreateJobAsync(JobKind.FineTune, "short", TrainerCluster.TinySpec(totalSteps: 60, everySteps: 2));
            await cluster.WaitForJobAsync(JobKind.FineTune, "short", s => s.Checkpoint?.Step >= 2, TimeSpan.FromSeconds(240), "the short job's first checkpoint");
            var shortPids = new Dictionary<string, int>(cluster.Server.Kubelet.ProcessIds(TestCluster.Namespace, "short-run-1"));
            Assert.True(shortPids.ContainsKey("trainer"), "the short job's trainer process");
            var killed = await RunAsync("kill", "-KILL", shortPids["trainer"].ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(killed.Exit == 0, killed.Stderr);
            var finished = await cluster.WaitForJobAsync(JobKind.FineTune, "short", s => s.Phase is JobPhase.Succeeded or JobPhase.Failed, TimeSpan.FromSeconds(420), "the short job to finish");
            Assert.Equal(JobPhase.Succeeded, finished.Phase);
            Assert.Equal(1, finished.Restarts);
            await TestCluster.WaitUntilAsync(async () => (await QueryAsync(prometheusPort, "bit_job_top1{name=\"short\"}")).Count == 1, TimeSpan.FromSeconds(30), "the short job's top-1 to be scraped");
            await ScrapeTrainerAsync("healthy");

            // The healthy trainer starts next and holds the trainer metrics port (every local pod is 127.0.0.1).
            // Runs far longer than the test, checkpoints rarely; the operator's own stall rule stays out of the way.
            static JsonObject Spec()
            {
                var spec = TrainerCluster.TinySpec(totalSteps: 1_000_000, everySteps: 1000);
                spec["runPolicy"]!["stallTimeout"] = "10m";
                return spec;
            }

            await cluster.CreateJobAsync(JobKind.FineTune, "healthy", Spec());
            await cluster.WaitForJobAsync(JobKind.FineTune, "healthy", s => s.Phase == JobPhase.Running && s.Progress?.LastProgressTime is not null, TimeSpan.FromSeconds(240), "the healthy trainer's first progress");
            await TestCluster.WaitUntilAsync(async () => (await QueryAsync(prometheusPort, "bit_trainer_step{job=\"bit-trainer\",name=\"healthy\"} > 0")).Count == 1, TimeSpan.FromSeconds(120), "the trainer to be scraped");

            await cluster.CreateJobAsync(JobKind.FineTune, "stopped", Spec());
            await cluster.WaitForJobAsync(JobKind.FineTune, "stopped", s => s.Phase == JobPhase.Running && s.Progress?.LastProgressTime is not null, TimeSpan.FromSeconds(240), "the second trainer's first progress");
            var pids = new Dictionary<string, int>();
            await TestCluster.WaitUntilAsync(() =>
            {
                pids = new Dictionary<string, int>(cluster.Server.Kubelet.ProcessIds(TestCluster.Namespace, "stopped-run-1"));
                return Task.FromResult(pids.ContainsKey("trainer"));
            }, TimeSpan.FromSeconds(120), "the trainer process");
            stoppedPid = pids["trainer"];
            var kill = await RunAsync("kill", "-STOP", stoppedPid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(kill.Exit == 0, kill.Stderr);

            // Seconds without progress pass the threshold, then the rule's `for`: firing, read from the alerts API.
            await TestCluster.WaitUntilAsync(async () =>
                (await AlertsAsync(prometheusPort, "BiTJobStalled")).Any(a => (string?)a["labels"]!["name"] == "stopped" && (string?)a["state"] == "firing"),
                TimeSpan.FromSeconds(SecondsWithoutProgress + 180), "BiTJobStalled to fire for the stopped trainer");

            var stalled = await AlertsAsync(prometheusPort, "BiTJobStalled");
            var firing = Assert.Single(stalled);
            Assert.Equal("stopped", (string?)firing["labels"]!["name"]);
            Assert.Equal(TestCluster.Namespace, (string?)firing["labels"]!["namespace"]);
            Assert.Equal("BiTFineTuneJob", (string?)firing["labels"]!["kind"]);
            Assert.EndsWith("#bitjobstalled", (string?)firing["annotations"]!["runbook_url"], StringComparison.Ordinal);

            // The healthy job was watched all along: running, progressing, and never pending or firing.
            var healthySince = await QueryAsync(prometheusPort, "bit_job_seconds_since_progress{name=\"healthy\"}");
            Assert.True(double.Parse((string)Assert.Single(healthySince)!["value"]![1]!, System.Globalization.CultureInfo.InvariantCulture) < SecondsWithoutProgress);
            Assert.Single(await QueryAsync(prometheusPort, "bit_job_phase{name=\"healthy\",phase=\"Running\"} == 1"));
            Assert.Empty(await QueryAsync(prometheusPort, "max_over_time(ALERTS{alertname=\"BiTJobStalled\",name=\"healthy\"}[10m])"));
            var healthy = BiTJobStatus.FromJson((await cluster.GetJobAsync(JobKind.FineTune, "healthy"))!.Status);
            Assert.Equal(JobPhase.Running, healthy.Phase);

            // kubectl get -o wide adds the trainer's ETA and throughput, the current pod, the workers running and the world size.
            var kubeconfig = cluster.Server.WriteKubeconfig(Path.Combine(dir, "kubeconfig"));
            var wide = await RunAsync("kubectl", "--kubeconfig", kubeconfig, "--cache-dir", Path.Combine(dir, "kube-cache"), "get", "bitft", "healthy", "-n", TestCluster.Namespace, "-o", "wide");
            Assert.True(wide.Exit == 0, wide.Stderr);
            var table = wide.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(["NAME", "PHASE", "PROGRESS", "TOP1", "RESTARTS", "ETA", "IMAGES/S", "POD", "WORKERS", "WORLD", "AGE"], table[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            var cells = table[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(("healthy-run-1", "1/1", "1"), (cells[^4], cells[^3], cells[^2]));
            Assert.Matches(@"^[0-9hms.]+$", cells[^6]);
            Assert.True(double.Parse(cells[^5], System.Globalization.CultureInfo.InvariantCulture) > 0, table[1]);

            // The Ready summary as GitOps tools and kubectl wait read it: True for the running job.
            var wait = await RunAsync("kubectl", "--kubeconfig", kubeconfig, "--cache-dir", Path.Combine(dir, "kube-cache"), "wait", "bitft/healthy", "-n", TestCluster.Namespace, "--for=condition=Ready", "--timeout=60s");
            Assert.True(wait.Exit == 0, wait.Stdout + wait.Stderr);

            // The trainer's own endpoint was scraped and the operator is up and leading: no operator alert fired.
            Assert.Single(await QueryAsync(prometheusPort, "up{job=\"bit-trainer\"} == 1"));
            Assert.Single(await QueryAsync(prometheusPort, "bit_operator_leader{job=\"bit-operator\"} == 1"));
            Assert.Empty(await AlertsAsync(prometheusPort, "BiTOperatorDown"));
            Assert.Empty(await AlertsAsync(prometheusPort, "BiTOperatorNoLeader"));

            // Every dashboard query runs over the test's time range, and those about what happened here have data.
            var recording = await DashboardRecording.RecordAsync(Http, prometheusPort, recordingStart, DateTimeOffset.UtcNow);
            var withData = DashboardRecording.PanelsWithData(recording);
            foreach (var title in new[] { "Jobs by phase", "Progress per job", "Images per second", "Training loss", "Top-1 accuracy", "Restarts by reason", "Seconds since progress (running jobs)", "Reconcile latency", "Reconciles by result", "Leader", "Work queue", "Operator memory" })
            {
                Assert.True(withData.Contains(title), $"the dashboard's '{title}' has no data; with data: {string.Join(", ", withData)}");
            }

            if (Environment.GetEnvironmentVariable(DashboardRecording.OutputVariable) is { Length: > 0 } output)
            {
                await File.WriteAllTextAsync(output, recording.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = false }) + "\n");
            }
        }
        finally
        {
            if (stoppedPid > 0)
            {
                await RunAsync("kill", "-CONT", stoppedPid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            if (!prometheus.HasExited)
            {
                prometheus.Kill();
                await prometheus.WaitForExitAsync();
            }

            Directory.Delete(dir, recursive: true);
        }
    }
}
