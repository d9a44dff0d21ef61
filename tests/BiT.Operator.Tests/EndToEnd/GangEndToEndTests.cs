using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using BiT.Operator.Runtime;
using k8s;
using k8s.Models;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// Jobs of two workers with the real trainer in the emulator's pods: two pods per attempt that find each other
/// through the headless Service's name (MASTER_ADDR) and average their gradients over Gloo; a worker killed mid-run
/// restarts the whole gang once; a two-worker pre-training job feeds a two-worker fine-tune job.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class GangEndToEndTests(TrainerCluster fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private static string Ns => TestCluster.Namespace;

    private static bool Finished(BiTJobStatus s) => s.Phase is JobPhase.Succeeded or JobPhase.Failed;

    private static JsonObject GangSpec(int totalSteps, int everySteps = 4)
    {
        var spec = TrainerCluster.TinySpec(totalSteps, everySteps);
        spec["resources"] = new JsonObject { ["workers"] = 2 };
        // A dead peer fails the others' next collective at once; the bound only matters for a peer that hangs.
        spec["podTemplate"] = new JsonObject { ["env"] = new JsonArray(new JsonObject { ["name"] = "OMP_NUM_THREADS", ["value"] = "1" }) };
        return spec;
    }

    private async Task<string> LogAsync(string pod)
    {
        using var stream = await Cluster.Admin.CoreV1.ReadNamespacedPodLogAsync(pod, Ns);
        return await new StreamReader(stream).ReadToEndAsync();
    }

    [Fact]
    public async Task A_two_worker_fine_tune_job_trains_on_two_ranks_and_succeeds()
    {
        fixture.EnsureOperator();
        await Cluster.CreateJobAsync(JobKind.FineTune, "gang", GangSpec(totalSteps: 12));
        var status = await fixture.WaitAsync("gang", Finished, "the two-worker job to finish", 240);
        Assert.True(status.Phase == JobPhase.Succeeded, $"phase {status.Phase}: {status.FindCondition(ConditionTypes.Failed)?.Message}\n{await Cluster.DescribePodsAsync()}");
        Assert.Equal(12, status.Progress?.Step);
        Assert.InRange(status.Result!.Top1!.Value, 0.0, 1.0);
        Assert.Equal(0, status.Restarts);
        Assert.Equal(2, status.WorldSize);
        Assert.Equal(2, status.Workers?.Total);
        Assert.Equal((2, 4), (status.Hyperparameters?.WorldSize, status.Hyperparameters?.RankMicroBatch));
        Assert.Equal("gang-run-1-0", status.PodName);

        var pods = (await Cluster.PodsAsync()).Where(p => p.Metadata.Name.StartsWith("gang-run-", StringComparison.Ordinal)).ToList();
        Assert.Equal(["gang-run-1-0", "gang-run-1-1"], pods.Select(p => p.Metadata.Name).Order(StringComparer.Ordinal));
        Assert.All(pods, p => Assert.Equal("Succeeded", p.Status.Phase));
        var service = await Cluster.Admin.CoreV1.ReadNamespacedServiceAsync("gang-workers", Ns);
        Assert.Equal("None", service.Spec.ClusterIP);
        // Rank 0 trained as one of two ranks, each on 4 of the 8 images of a global batch, through the Service's name.
        var rank0 = await LogAsync("gang-run-1-0");
        Assert.Contains("ranks        2, gradients by Gloo (the gradients are on the CPU), 4 images of each global batch per rank", rank0, StringComparison.Ordinal);
        var env = pods.Single(p => p.Metadata.Name == "gang-run-1-1").Spec.Containers[0].Env;
        Assert.Equal("gang-run-1-0.gang-workers", env.Single(e => e.Name == "MASTER_ADDR").Value);

        var dir = Directory.CreateTempSubdirectory("bit-e2e-").FullName;
        var kubeconfig = Cluster.Server.WriteKubeconfig(Path.Combine(dir, "kubeconfig"));
        var (code, output) = await TrainerEndToEndTests.RunAsync("kubectl", $"--kubeconfig {kubeconfig} get bitft gang -n {Ns} -o wide");
        Assert.True(code == 0, output);
        Assert.Contains("WORKERS", output, StringComparison.Ordinal);
        Assert.Contains("WORLD", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_killed_mid_run_restarts_the_gang_once_and_the_job_finishes_with_the_right_step_count()
    {
        const int Steps = 240;
        fixture.EnsureOperator();
        using var stop = new CancellationTokenSource();
        var watch = GangPods.WatchAsync(Cluster.Admin, "gangkill", stop.Token);
        await Cluster.CreateJobAsync(JobKind.FineTune, "gangkill", GangSpec(Steps));
        await fixture.WaitAsync("gangkill", s => s.Checkpoint?.Step >= 4 && s.Phase == JobPhase.Running, "a first checkpoint", 240);
        await Cluster.Server.Kubelet.KillAsync(Ns, "gangkill-run-1-1", hard: true);

        var status = await fixture.WaitAsync("gangkill", Finished, "the job to finish after the kill", 360);
        await stop.CancelAsync();
        var pods = await watch;
        Assert.True(status.Phase == JobPhase.Succeeded, $"phase {status.Phase}: {status.FindCondition(ConditionTypes.Failed)?.Message}");
        Assert.Equal(Steps, status.Progress?.Step);
        Assert.True(status.Restarts == 1, $"restarts {status.Restarts}: {string.Join("; ", (status.RestartHistory ?? []).Select(r => $"{r.Reason} {r.PodName} {r.ExitCode}"))}");
        var restart = Assert.Single(status.RestartHistory!);
        Assert.Equal(("Killed", 137, "gangkill-run-1-1", 1), (restart.Reason, restart.ExitCode, restart.PodName, restart.Worker));
        Assert.True(restart.ResumedFromStep >= 4, $"resumed from {restart.ResumedFromStep}");
        Assert.Contains(restart.Workers!, w => w.StartsWith("worker 1", StringComparison.Ordinal));
        Assert.Equal("gangkill-run-2-0", status.PodName);
        Assert.Equal(("gangkill-run-2-0", restart.ResumedFromStep), (status.Resumed?.PodName, (int?)status.Resumed?.Step));

        // Two attempts of two workers, each made once; never two live pods for one worker.
        Assert.Equal(["gangkill-run-1-0", "gangkill-run-1-1", "gangkill-run-2-0", "gangkill-run-2-1"], pods.Created.Order(StringComparer.Ordinal));
        Assert.True(pods.MostLivePerWorker == 1, $"at one time {pods.MostLivePerWorker} live pods for one worker: {string.Join(", ", pods.Log)}");
    }

    [Fact]
    public async Task A_two_worker_pretrain_job_feeds_a_two_worker_fine_tune_job()
    {
        const string Claim = "team-gang-models";
        fixture.EnsureOperator();
        await Cluster.CreateSharedClaimAsync(Claim);
        JsonObject Spec(int[] classes, JsonObject hyperparameters) => new()
        {
            ["model"] = new JsonObject { ["architecture"] = "Custom", ["blocks"] = new JsonArray(1, 1, 1, 1), ["widthFactor"] = 0.5 },
            ["dataset"] = new JsonObject
            {
                ["format"] = "Idx",
                ["path"] = TrainerCluster.Dataset,
                ["classes"] = new JsonArray([.. classes.Select(c => (JsonNode)c)]),
                ["numClasses"] = classes.Length,
            },
            ["hyperparameters"] = hyperparameters,
            ["checkpoint"] = new JsonObject { ["everySteps"] = 8, ["keep"] = 2, ["volume"] = new JsonObject { ["claimName"] = Claim } },
            ["runPolicy"] = new JsonObject { ["backoffSeconds"] = 1, ["maxRestarts"] = 1 },
            ["resources"] = new JsonObject { ["workers"] = 2 },
        };

        await Cluster.CreateJobAsync(JobKind.Pretrain, "gang-up",
            Spec([0, 1, 2, 3, 4], new JsonObject { ["batchSize"] = 8, ["totalSteps"] = 16, ["cropSize"] = 28, ["weightDecay"] = 0.0001 }));
        var down = Spec([5, 6, 7, 8, 9], new JsonObject { ["batchSize"] = 8, ["totalSteps"] = 12, ["precropSize"] = 36, ["cropSize"] = 32 });
        down["model"]!["weights"] = new JsonObject { ["fromPretrainJob"] = new JsonObject { ["name"] = "gang-up" } };
        await Cluster.CreateJobAsync(JobKind.FineTune, "gang-down", down);

        var upstream = await Cluster.WaitForJobAsync(JobKind.Pretrain, "gang-up", Finished, TimeSpan.FromSeconds(240), "the pretrain job to finish");
        Assert.True(upstream.Phase == JobPhase.Succeeded, $"pretrain {upstream.Phase}: {upstream.FindCondition(ConditionTypes.Failed)?.Message}");
        Assert.Equal((16, 2), (upstream.Progress?.Step, upstream.WorldSize));
        var claimDir = Cluster.Server.Kubelet.PvcHostPath(Ns, Claim);
        Assert.True(File.Exists(Path.Combine(claimDir, "gang-up", "final", "model.npz")));

        var status = await fixture.WaitAsync("gang-down", Finished, "the fine-tune job to finish", 240);
        Assert.True(status.Phase == JobPhase.Succeeded, $"fine-tune {status.Phase}: {status.FindCondition(ConditionTypes.Failed)?.Message}");
        Assert.Equal((12, 2, 0), (status.Progress?.Step, status.WorldSize, status.Restarts));
        Assert.True(File.Exists(Path.Combine(claimDir, "gang-down", "final", "model.npz")));
        // Both workers of the fine-tune job mounted the upstream model (every rank builds the network from it).
        foreach (var name in new[] { "gang-down-run-1-0", "gang-down-run-1-1" })
        {
            var pod = await Cluster.Admin.CoreV1.ReadNamespacedPodAsync(name, Ns);
            Assert.Equal(Claim, pod.Spec.Volumes.Single(v => v.Name == "pretrained").PersistentVolumeClaim.ClaimName);
        }

        Assert.Contains("weights: PretrainJob", await LogAsync("gang-down-run-1-0"), StringComparison.Ordinal);
    }

    /// <summary>Every pod of one job as the API's watch reports it: the names created, and the most live pods one worker had at once.</summary>
    private sealed record GangPods(IReadOnlyList<string> Created, int MostLivePerWorker, IReadOnlyList<string> Log)
    {
        public static async Task<GangPods> WatchAsync(IKubernetes client, string job, CancellationToken stop)
        {
            var source = ListWatchSources.Pods(client, Ns, $"{OwnedObjects.JobNameLabel}={job}");
            var created = new List<string>();
            var live = new Dictionary<string, string>(StringComparer.Ordinal);
            var log = new List<string>();
            var most = 0;
            void See(WatchEventType type, V1Pod pod)
            {
                var name = pod.Metadata.Name;
                if (!created.Contains(name))
                {
                    created.Add(name);
                }

                var ended = type == WatchEventType.Deleted || pod.Status?.Phase is "Succeeded" or "Failed";
                if (ended)
                {
                    live.Remove(name);
                }
                else
                {
                    live[name] = pod.Metadata.Labels is { } labels && labels.TryGetValue(OwnedObjects.WorkerLabel, out var worker) ? worker : "?";
                }

                log.Add($"{type} {name} {pod.Status?.Phase}");
                most = Math.Max(most, live.Values.GroupBy(w => w).Select(g => g.Count()).DefaultIfEmpty(0).Max());
            }

            var list = await source.ListAsync(stop);
            foreach (var pod in list.Items)
            {
                See(WatchEventType.Added, pod);
            }

            var version = list.ResourceVersion;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await foreach (var e in source.WatchAsync(version, stop))
                    {
                        version = e.ResourceVersion ?? version;
                        if (e.Object is { } pod && e.Type != WatchEventType.Bookmark)
                        {
                            See(e.Type, pod);
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The test has seen the job finish.
            }

            return new GangPods(created, most, log);
        }
    }
}
