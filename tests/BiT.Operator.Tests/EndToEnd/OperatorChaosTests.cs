using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Tests.Controllers;
using k8s;
using k8s.Models;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// The fault suite's operator crash: a batch of jobs reconciled while the in-process operator is stopped at a random
/// point (seeded: after a random number of the cluster's writes, or a random moment, whichever comes first) and
/// started again, 50 times. The test plays the kubelet: it moves each pod through Running to its end as the job's
/// fate says, in stages spread across the 50 stops. Each stop cancels the operator mid-reconcile, between a pod's
/// creation and the status write that names it, or mid-restart; a new operator must carry on from the cluster alone.
/// </summary>
public sealed class OperatorChaosTests
{
    private const int Stops = 50;
    /// <summary>BIT_CHAOS_SEED runs other stop points (a failure names the seed).</summary>
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("BIT_CHAOS_SEED"), out var seed) ? seed : 2026;

    internal enum Fate
    {
        Succeeds,
        FailsPermanently,
        RestartsOnceThenSucceeds,
    }

    [Fact]
    public async Task The_operator_stopped_at_random_points_50_times_leaves_one_pod_per_attempt_no_lost_status_and_every_job_in_its_phase()
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        var jobs = await CreateJobsAsync(cluster, "chaos");

        // Every pod the cluster ever stored, from a watch opened before any exists: one entry per create that took.
        var added = new ConcurrentQueue<(string Name, string Uid)>();
        using var watching = new CancellationTokenSource();
        var watcher = await WatchPodsAddedAsync(cluster, added, watching.Token);

        var random = new Random(Seed);
        Console.WriteLine($"operator chaos: seed {Seed}");
        var stops = 0;
        var seen = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        using var done = new CancellationTokenSource();
        var kubelet = Task.Run(() => PlayKubeletAsync(cluster, jobs, () => Volatile.Read(ref stops), seen, done.Token));

        var started = DateTime.UtcNow;
        var atStop = new List<int>();
        while (stops < Stops)
        {
            var writes = cluster.Server.Requests.Writes();
            var op = cluster.StartOperator();
            var afterWrites = random.Next(0, 8);
            var atMost = TimeSpan.FromMilliseconds(random.Next(5, 250));
            await WaitAtMostAsync(() => cluster.Server.Requests.Writes() >= writes + afterWrites, atMost);
            atStop.Add(cluster.Server.Requests.Writes() - writes);
            Assert.Equal(0, await op.StopAsync());
            await op.DisposeAsync();
            Interlocked.Increment(ref stops);
            Assert.False(kubelet.IsFaulted, kubelet.Exception?.ToString());
        }

        await using (cluster.StartOperator())
        {
            foreach (var (name, fate) in jobs)
            {
                var phase = fate == Fate.FailsPermanently ? JobPhase.Failed : JobPhase.Succeeded;
                await cluster.WaitForJobAsync(JobKind.FineTune, name, s => s.Phase == phase && s.CompletionTime is not null, TimeSpan.FromSeconds(45), $"{name} {phase}");
            }
        }

        await done.CancelAsync();
        await kubelet;
        var elapsed = DateTime.UtcNow - started;

        // Exactly one pod per attempt: the watch saw one pod added per expected attempt and nothing else (a second
        // pod under a name, or an attempt too many, would be an extra entry). Creates the operator abandoned when it
        // was stopped either took (and are among these) or did not.
        await TestCluster.WaitUntilAsync(() => Task.FromResult(added.Count >= jobs.Count + jobs.Count(j => j.Value == Fate.RestartsOnceThenSucceeds)), TimeSpan.FromSeconds(10), "the watch to catch up");
        await watching.CancelAsync();
        await watcher;
        var expected = jobs.SelectMany(j => j.Value == Fate.RestartsOnceThenSucceeds ? [$"{j.Key}-run-1", $"{j.Key}-run-2"] : new[] { $"{j.Key}-run-1" }).ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), added.Select(a => a.Name).Order(StringComparer.Ordinal));
        Assert.Equal(expected.Order(StringComparer.Ordinal), seen.Keys.Order(StringComparer.Ordinal));
        Assert.All(added, a => Assert.Equal(seen[a.Name], a.Uid));

        foreach (var (name, fate) in jobs)
        {
            var s = BiTJobStatus.FromJson((await cluster.GetJobAsync(JobKind.FineTune, name))!.Status);
            Assert.True(s.IsConditionTrue(ConditionTypes.Validated), $"{name}: Validated");
            Assert.NotNull(s.StartTime);
            switch (fate)
            {
                case Fate.Succeeds:
                    Assert.Equal((0, 0.5), (s.Restarts ?? 0, s.Result?.Top1 ?? -1));
                    Assert.Equal($"{name}-run-1", s.PodName);
                    break;
                case Fate.FailsPermanently:
                    Assert.Equal(0, s.Restarts ?? 0);
                    Assert.Equal("TrainerFailed", s.FindCondition(ConditionTypes.Failed)?.Reason);
                    Assert.Equal("dataset unreadable", s.FindCondition(ConditionTypes.Failed)?.Message);
                    break;
                case Fate.RestartsOnceThenSucceeds:
                    // One restart recorded, once: a lost or repeated status write would show here.
                    Assert.Equal(1, s.Restarts);
                    var restart = Assert.Single(s.RestartHistory!);
                    Assert.Equal(("Killed", 137, $"{name}-run-1"), (restart.Reason, restart.ExitCode ?? 0, restart.PodName));
                    Assert.Equal((0.5, $"{name}-run-2"), (s.Result?.Top1 ?? -1, s.PodName));
                    break;
            }
        }

        // The stops fell at different points: right after start (no write yet), and after several writes.
        Assert.Contains(0, atStop);
        Assert.Contains(atStop, n => n >= 3);
        Assert.True(elapsed < TimeSpan.FromSeconds(60), $"took {elapsed}");
    }

    /// <summary>Waits for a condition, or at most <paramref name="atMost"/>: the random point where the operator is stopped.</summary>
    /// <summary>Twelve fine-tune jobs named PREFIX-00.. with their fates (3 restarts allowed, 1 s backoff).</summary>
    internal static async Task<Dictionary<string, Fate>> CreateJobsAsync(TestCluster cluster, string prefix)
    {
        var jobs = Enumerable.Range(0, 12).ToDictionary(i => $"{prefix}-{i:D2}", i => (Fate)(i % 3));
        foreach (var name in jobs.Keys)
        {
            var spec = ContractsJobPlannerTests.RealSpec();
            spec["runPolicy"] = new JsonObject { ["maxRestarts"] = 3, ["backoffSeconds"] = 1 };
            await cluster.CreateJobAsync(JobKind.FineTune, name, spec);
        }
        return jobs;
    }

    /// <summary>Puts every pod the cluster stores from now on into <paramref name="added"/> until cancelled.</summary>
    internal static async Task<Task> WatchPodsAddedAsync(TestCluster cluster, ConcurrentQueue<(string Name, string Uid)> added, CancellationToken watching)
    {
        var emptyList = await cluster.Admin.CoreV1.ListNamespacedPodAsync(TestCluster.Namespace);
        return Task.Run(async () =>
        {
            try
            {
                await foreach (var (type, pod) in cluster.Admin.CoreV1.WatchListNamespacedPodAsync(TestCluster.Namespace, resourceVersion: emptyList.Metadata.ResourceVersion, cancellationToken: watching))
                {
                    if (type == WatchEventType.Added)
                    {
                        added.Enqueue((pod.Metadata.Name, pod.Metadata.Uid));
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // The test is done watching.
            }
        });
    }

    private static async Task WaitAtMostAsync(Func<bool> condition, TimeSpan atMost)
    {
        var until = DateTime.UtcNow + atMost;
        while (!condition() && DateTime.UtcNow < until)
        {
            await Task.Delay(2);
        }
    }

    /// <summary>
    /// Plays the kubelet for the batch: a pod runs once a fifth of the stops have happened, ends as its job's fate
    /// says after the third, and the second attempt of a restarting job ends after three fifths; so pods are created,
    /// started, ended and replaced while the operator keeps being stopped.
    /// </summary>
    internal static async Task PlayKubeletAsync(TestCluster cluster, Dictionary<string, Fate> jobs, Func<int> stops, ConcurrentDictionary<string, string> seen, CancellationToken done, int total = Stops)
    {
        var moved = new Dictionary<string, string>(StringComparer.Ordinal);
        while (!done.IsCancellationRequested)
        {
            foreach (var pod in await cluster.PodsAsync())
            {
                var name = pod.Metadata.Name;
                var uid = pod.Metadata.Uid;
                if (seen.GetOrAdd(name, uid) != uid)
                {
                    throw new InvalidOperationException($"pod {name} was created a second time (uid {seen[name]}, then {uid})");
                }

                var job = jobs.Keys.Single(j => name.StartsWith(j + "-run-", StringComparison.Ordinal));
                var attempt = int.Parse(name[(job.Length + "-run-".Length)..], System.Globalization.CultureInfo.InvariantCulture);
                var state = moved.GetValueOrDefault(name, "Pending");
                if (pod.Metadata.DeletionTimestamp is not null)
                {
                    continue;
                }

                if (state == "Pending" && stops() >= total / 5)
                {
                    var running = new JsonObject
                    {
                        ["status"] = new JsonObject
                        {
                            ["phase"] = "Running",
                            ["startTime"] = Now(),
                            ["containerStatuses"] = new JsonArray(new JsonObject
                            {
                                ["name"] = "trainer", ["image"] = TestCluster.TrainerImage, ["imageID"] = "", ["ready"] = true, ["restartCount"] = 0,
                                ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Now() } },
                            }),
                        },
                    };
                    await PatchStatusAsync(cluster, name, running.ToJsonString());
                    moved[name] = "Running";
                }
                else if (state == "Running" && stops() >= (attempt == 1 ? total / 3 : total * 3 / 5))
                {
                    var (exit, phase, message) = (jobs[job], attempt) switch
                    {
                        (Fate.FailsPermanently, _) => (4, "Failed", "dataset unreadable"),
                        (Fate.RestartsOnceThenSucceeds, 1) => (137, "Failed", ""),
                        _ => (0, "Succeeded", """{"top1":0.5,"modelPath":"/checkpoints/final/model.npz","steps":500}"""),
                    };
                    var terminated = new JsonObject { ["exitCode"] = exit, ["reason"] = exit == 0 ? "Completed" : "Error", ["message"] = message, ["finishedAt"] = Now() };
                    var patch = new JsonObject
                    {
                        ["status"] = new JsonObject
                        {
                            ["phase"] = phase,
                            ["containerStatuses"] = new JsonArray(new JsonObject
                            {
                                ["name"] = "trainer", ["image"] = TestCluster.TrainerImage, ["imageID"] = "", ["ready"] = false, ["restartCount"] = 0,
                                ["state"] = new JsonObject { ["terminated"] = terminated },
                            }),
                        },
                    };
                    await PatchStatusAsync(cluster, name, patch.ToJsonString());
                    moved[name] = "Ended";
                }
            }

            try
            {
                await Task.Delay(20, done);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static string Now() => KubeTimeJsonConverter.ToWire(DateTimeOffset.UtcNow);

    private static async Task PatchStatusAsync(TestCluster cluster, string pod, string body)
    {
        try
        {
            await cluster.Admin.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(body, V1Patch.PatchType.MergePatch), pod, TestCluster.Namespace);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            // Deleted meanwhile (the operator replaced it): nothing to play.
        }
    }
}
