using System.Net;
using System.Text.Json.Nodes;
using BiT.Contracts.Api;
using BiT.Contracts.Rules;
using BiT.Trainer.Telemetry;
using BiT.Trainer.Training;

namespace BiT.Trainer.Tests.Telemetry;

public sealed class KubernetesStatusReporterTests
{
    private static PodEnvironment Pod(Uri api, string tokenFile) => PodEnvironment.From(name => name switch
    {
        "BIT_KUBE_API" => api.ToString(),
        "BIT_KUBE_TOKEN_FILE" => tokenFile,
        "BIT_JOB_NAMESPACE" => "team-a",
        "BIT_JOB_NAME" => "pets",
        "BIT_JOB_KIND" => "BiTFineTuneJob",
        _ => null,
    });

    private static ProgressUpdate Update(int step) =>
        new(step, 500, step / 10.0, 1.0 / step, 0.003, 123.456, TimeSpan.FromSeconds(500 - step), DateTimeOffset.UnixEpoch.AddSeconds(step));

    [Fact]
    public async Task Patches_progress_through_the_status_subresource_with_a_bearer_token_and_coalesces_updates()
    {
        await using var server = new FakeApiServer();
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("token"), "secret-token\n");
        var reporter = new KubernetesStatusReporter(Pod(server.BaseUri, dir.Combine("token")), TimeProvider.System, TimeSpan.FromMilliseconds(300), _ => { });
        for (var step = 1; step <= 50; step++)
        {
            reporter.Progress(Update(step));
        }
        reporter.Checkpointed(50, "/checkpoints/step-00000050.ckpt", DateTimeOffset.UnixEpoch);
        await reporter.DisposeAsync();

        Assert.InRange(server.Requests.Count, 1, 3);
        Assert.All(server.Requests, r =>
        {
            Assert.Equal("PATCH", r.Method);
            Assert.Equal("/apis/bit.training/v1alpha1/namespaces/team-a/bitfinetunejobs/pets/status", r.Path);
            Assert.StartsWith("application/merge-patch+json", r.ContentType, StringComparison.Ordinal);
            Assert.Equal("Bearer secret-token", r.Authorization);
        });
        var last = JsonNode.Parse(server.Requests[^1].Body)!["status"]!;
        Assert.Equal(50, last["progress"]!["step"]!.GetValue<int>());
        Assert.Equal(500, last["progress"]!["totalSteps"]!.GetValue<int>());
        Assert.Equal("50/500", last["progress"]!["display"]!.GetValue<string>());
        Assert.Equal("7m30s", last["progress"]!["eta"]!.GetValue<string>());
        Assert.Equal(50, server.Requests.Select(r => JsonNode.Parse(r.Body)!["status"]!["checkpoint"]).Last(c => c is not null)!["step"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_final_result_is_patched_with_the_last_progress_before_dispose_returns()
    {
        await using var server = new FakeApiServer();
        using var dir = new TempDir();
        var reporter = new KubernetesStatusReporter(Pod(server.BaseUri, dir.Combine("token")), TimeProvider.System, TimeSpan.FromMinutes(5), _ => { });
        reporter.Progress(Update(1));
        reporter.Progress(Update(500));
        reporter.Finished(new ResultStatus { Top1 = 0.875, Top5 = 1, ModelPath = "/checkpoints/final/model.npz" });
        await reporter.DisposeAsync();

        var bodies = server.Requests.Select(r => JsonNode.Parse(r.Body)!["status"]!.AsObject()).ToList();
        var last = bodies[^1];
        Assert.Equal(500, last["progress"]!["step"]!.GetValue<int>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"top1":0.875,"top5":1,"modelPath":"/checkpoints/final/model.npz"}"""), last["result"]));
        Assert.All(bodies, b => Assert.All(b, p => Assert.Contains(p.Key, BiTJobStatus.TrainerFields)));
    }

    [Fact]
    public async Task The_step_a_pod_resumed_from_is_reported_once_with_the_pods_name()
    {
        await using var server = new FakeApiServer();
        using var dir = new TempDir();
        var pod = PodEnvironment.From(name => name switch
        {
            "BIT_KUBE_API" => server.BaseUri.ToString(),
            "BIT_KUBE_TOKEN_FILE" => dir.Combine("token"),
            "BIT_JOB_NAMESPACE" => "team-a",
            "BIT_JOB_NAME" => "pets",
            "BIT_JOB_KIND" => "BiTFineTuneJob",
            "POD_NAME" => "pets-run-2",
            _ => null,
        });
        var reporter = new KubernetesStatusReporter(pod, TimeProvider.System, TimeSpan.FromMilliseconds(50), _ => { });
        reporter.Started(new TrainingSettings { Schedule = new LearningRateSchedule(0.1, 0, [], 100), BatchSize = 1, CropSize = 8, NumClasses = 2, PlanHash = "h" }, 30);
        reporter.Progress(Update(31));
        reporter.Progress(Update(32));
        await reporter.DisposeAsync();

        var resumed = server.Requests.Select(r => JsonNode.Parse(r.Body)!["status"]!["resumed"]).Where(r => r is not null).ToList();
        var only = Assert.Single(resumed)!;
        Assert.Equal(("pets-run-2", 30), (only["podName"]!.GetValue<string>(), only["step"]!.GetValue<int>()));
        Assert.Contains("resumed", BiTJobStatus.TrainerFields);
        Assert.DoesNotContain("resumed", BiTJobStatus.OperatorFields);
    }

    [Fact]
    public async Task A_failed_result_patch_is_a_warning()
    {
        await using var server = new FakeApiServer(HttpStatusCode.Forbidden);
        using var dir = new TempDir();
        var warnings = new List<string>();
        var reporter = new KubernetesStatusReporter(Pod(server.BaseUri, dir.Combine("token")), TimeProvider.System, TimeSpan.FromMinutes(5), w =>
        {
            lock (warnings)
            {
                warnings.Add(w);
            }
        });
        reporter.Finished(new ResultStatus { Top1 = 0.5 });
        await reporter.DisposeAsync();
        Assert.True(reporter.Failures >= 1);
        Assert.Contains(warnings, w => w.Contains("HTTP 403", StringComparison.Ordinal));
        Assert.Contains(server.Requests, r => JsonNode.Parse(r.Body)!["status"]!["result"] is not null);
    }

    [Fact]
    public async Task A_failing_api_server_is_a_warning_not_a_training_failure()
    {
        await using var server = new FakeApiServer(HttpStatusCode.InternalServerError);
        using var dir = new TempDir();
        var warnings = new List<string>();
        var reporter = new KubernetesStatusReporter(Pod(server.BaseUri, dir.Combine("missing-token")), TimeProvider.System, TimeSpan.FromMilliseconds(10), w =>
        {
            lock (warnings)
            {
                warnings.Add(w);
            }
        });
        reporter.Started(new TrainingSettings { Schedule = new LearningRateSchedule(0.1, 0, [], 10), BatchSize = 1, CropSize = 8, NumClasses = 2, PlanHash = "h" }, 0);
        reporter.Progress(Update(1));
        await reporter.DisposeAsync();
        Assert.True(reporter.Failures >= 1);
        Assert.Contains(warnings, w => w.Contains("HTTP 500", StringComparison.Ordinal));
        Assert.All(server.Requests, r => Assert.Null(r.Authorization));
    }

    [Fact]
    public void In_cluster_defaults_come_from_the_service_environment()
    {
        var pod = PodEnvironment.From(name => name switch
        {
            "KUBERNETES_SERVICE_HOST" => "10.0.0.1",
            "KUBERNETES_SERVICE_PORT" => "6443",
            "BIT_JOB_NAMESPACE" => "ns",
            "BIT_JOB_NAME" => "up",
            "BIT_JOB_KIND" => "BiTPretrainJob",
            "BIT_CHECKPOINT_DIR" => "/checkpoints",
            "BIT_METRICS_PORT" => "9400",
            _ => null,
        });
        Assert.Equal(new Uri("https://10.0.0.1:6443"), pod.ApiServer);
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/token", pod.TokenFile);
        Assert.Equal("/checkpoints", pod.WorkDirectory);
        Assert.Equal(9400, pod.MetricsPort);
        Assert.True(pod.CanReportStatus);
        Assert.False(PodEnvironment.From(_ => null).CanReportStatus);
    }
}
