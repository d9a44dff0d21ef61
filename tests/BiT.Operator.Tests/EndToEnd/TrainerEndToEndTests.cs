using System.Diagnostics;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using k8s;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// The operator with the real bit-trainer in the emulator's local pods: success, crashes, eviction, stalls and
/// suspension, each ending in a finished training run with the right number of steps.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class TrainerEndToEndTests(TrainerCluster fixture)
{
    // The status reporter patches progress at most every 5 s and a tiny trainer does about 20 steps a second on an
    // idle machine: a run must be long enough that it cannot end before a test's kill, eviction or stop lands.
    private const int LongRun = 400;

    private TestCluster Cluster => fixture.Cluster;

    private static string Ns => TestCluster.Namespace;

    private static bool Finished(BiTJobStatus s) => s.Phase is JobPhase.Succeeded or JobPhase.Failed;

    private static void AssertSucceeded(BiTJobStatus s, int totalSteps)
    {
        Assert.True(s.Phase == JobPhase.Succeeded, $"phase {s.Phase}: {s.FindCondition(ConditionTypes.Failed)?.Message}");
        Assert.Equal(totalSteps, s.Progress?.Step);
        var top1 = s.Result!.Top1!.Value;
        Assert.InRange(top1, 0.0, 1.0);
        Assert.NotNull(s.CompletionTime);
    }

    private static string Restarts(BiTJobStatus s) =>
        string.Join("; ", (s.RestartHistory ?? []).Select(r => $"{r.Time:HH:mm:ss} {r.Reason} exit {r.ExitCode} from step {r.ResumedFromStep}"))
        + $" / {s.FindCondition(ConditionTypes.Restarting)?.Message}";

    private async Task<int> TrainerPidAsync(string pod)
    {
        var pids = new Dictionary<string, int>();
        await TestCluster.WaitUntilAsync(() =>
        {
            pids = new Dictionary<string, int>(Cluster.Server.Kubelet.ProcessIds(Ns, pod));
            return Task.FromResult(pids.ContainsKey("trainer"));
        }, TimeSpan.FromSeconds(60), $"the trainer process of {pod}");
        return pids["trainer"];
    }

    [Fact]
    public async Task A_job_applied_with_kubectl_succeeds_and_reports_top1()
    {
        fixture.EnsureOperator();
        var dir = Directory.CreateTempSubdirectory("bit-e2e-").FullName;
        var kubeconfig = Cluster.Server.WriteKubeconfig(Path.Combine(dir, "kubeconfig"));
        var manifest = Path.Combine(dir, "job.yaml");
        var spec = TrainerCluster.TinySpec(totalSteps: 12);
        await File.WriteAllTextAsync(manifest, $"""
            apiVersion: bit.training/v1alpha1
            kind: BiTFineTuneJob
            metadata:
              name: applied
              namespace: {Ns}
            spec: {spec.ToJsonString()}
            """);
        var (code, output) = await RunAsync("kubectl", $"--kubeconfig {kubeconfig} apply -f {manifest}");
        Assert.True(code == 0, output);
        Assert.Contains("applied", output, StringComparison.Ordinal);

        var status = await fixture.WaitAsync("applied", Finished, "the job to finish");
        AssertSucceeded(status, 12);
        Assert.Equal(0, status.Restarts);

        (code, output) = await RunAsync("kubectl", $"--kubeconfig {kubeconfig} get bitft applied -n {Ns}");
        Assert.True(code == 0, output);
        Assert.Contains("Succeeded", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_trainer_killed_mid_run_restarts_from_its_checkpoint_and_finishes_with_the_right_step_count()
    {
        fixture.EnsureOperator();
        await Cluster.CreateJobAsync(JobKind.FineTune, "killed", TrainerCluster.TinySpec(totalSteps: LongRun, everySteps: 4));
        await fixture.WaitAsync("killed", s => s.Checkpoint?.Step >= 4, "a first checkpoint");
        await Cluster.Server.Kubelet.KillAsync(Ns, "killed-run-1", hard: true);

        var status = await fixture.WaitAsync("killed", Finished, "the job to finish after the kill", 180);
        AssertSucceeded(status, LongRun);
        Assert.True(status.Restarts == 1, $"restarts {status.Restarts}: {Restarts(status)}");
        var restart = Assert.Single(status.RestartHistory!);
        Assert.Equal("Killed", restart.Reason);
        Assert.Equal(137, restart.ExitCode);
        Assert.True(restart.ResumedFromStep >= 4, $"resumed from {restart.ResumedFromStep}");
        Assert.Equal("killed-run-2", status.PodName);
        // The history holds the step the second pod's trainer reported restoring, and names the pod that ended.
        Assert.Equal("killed-run-1", restart.PodName);
        Assert.Equal(("killed-run-2", restart.ResumedFromStep), (status.Resumed?.PodName, (int?)status.Resumed?.Step));
    }

    [Fact]
    public async Task An_evicted_trainer_checkpoints_and_is_restarted()
    {
        fixture.EnsureOperator();
        await Cluster.CreateJobAsync(JobKind.FineTune, "evicted", TrainerCluster.TinySpec(totalSteps: LongRun, everySteps: 4));
        await fixture.WaitAsync("evicted", s => s.Checkpoint?.Step >= 4, "a first checkpoint");
        await Cluster.Server.Kubelet.EvictAsync(Ns, "evicted-run-1");

        var status = await fixture.WaitAsync("evicted", Finished, "the job to finish after the eviction", 180);
        AssertSucceeded(status, LongRun);
        var restart = Assert.Single(status.RestartHistory!);
        Assert.Equal("Evicted", restart.Reason);
        Assert.True(restart.ResumedFromStep >= 4, $"resumed from {restart.ResumedFromStep}");
    }

    [Fact]
    public async Task A_stopped_trainer_is_detected_as_stalled_and_restarted()
    {
        fixture.EnsureOperator();
        var spec = TrainerCluster.TinySpec(totalSteps: LongRun, everySteps: 4);
        // Long enough for a restarted trainer's start-up (kernel probe, restore: over 20 s on a loaded 2-core CI
        // machine, where 15 s judged every restart stalled), short enough to keep the test quick.
        spec["runPolicy"]!["stallTimeout"] = "45s";
        await Cluster.CreateJobAsync(JobKind.FineTune, "stalled", spec);
        await fixture.WaitAsync("stalled", s => s.Checkpoint?.Step >= 4, "a first checkpoint");
        var pid = await TrainerPidAsync("stalled-run-1");
        var (code, output) = await RunAsync("kill", $"-STOP {pid}");
        Assert.True(code == 0, output);

        var restarted = await fixture.WaitAsync("stalled", s => (s.RestartHistory ?? []).Any(r => r.Reason == "Stalled"), "the stall to be detected", 150);
        Assert.Equal(1, restarted.Restarts);
        var events = await Cluster.Admin.CoreV1.ListNamespacedEventAsync(Ns);
        Assert.Contains(events.Items, e => e.InvolvedObject.Name == "stalled" && e.Reason == "Stalled");

        var status = await fixture.WaitAsync("stalled", Finished, "the job to finish after the stall", 180);
        AssertSucceeded(status, LongRun);
        Assert.Equal("False", status.FindCondition(ConditionTypes.Stalled)?.Status);
    }

    [Fact]
    public async Task Suspend_checkpoints_and_stops_the_trainer_and_resume_finishes_the_run()
    {
        fixture.EnsureOperator();
        await Cluster.CreateJobAsync(JobKind.FineTune, "paused", TrainerCluster.TinySpec(totalSteps: LongRun, everySteps: 4));
        await fixture.WaitAsync("paused", s => s.Checkpoint?.Step >= 4 && s.Phase == JobPhase.Running, "a first checkpoint");
        await Cluster.PatchSpecAsync(JobKind.FineTune, "paused", new JsonObject { ["suspend"] = true });
        await fixture.WaitAsync("paused", s => s.Phase == JobPhase.Suspended, "the job to be suspended");
        await TestCluster.WaitUntilAsync(async () => (await Cluster.PodsAsync()).All(p => !p.Metadata.Name.StartsWith("paused-", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(60), "the suspended pod to go");
        var suspended = BiTJobStatus.FromJson((await Cluster.GetJobAsync(JobKind.FineTune, "paused"))!.Status);
        Assert.True(suspended.Progress?.Step < LongRun, $"suspended before the end (step {suspended.Progress?.Step})");

        await Cluster.PatchSpecAsync(JobKind.FineTune, "paused", new JsonObject { ["suspend"] = false });
        var status = await fixture.WaitAsync("paused", Finished, "the resumed job to finish", 180);
        AssertSucceeded(status, LongRun);
        Assert.Equal(0, status.Restarts);
        Assert.Equal("paused-run-2", status.PodName);
        Assert.Equal("False", status.FindCondition(ConditionTypes.Suspended)?.Status);
    }

    internal static async Task<(int Code, string Output)> RunAsync(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await stdout + await stderr);
    }
}
