using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Tests.Controllers;
using k8s;
using KubeEmulator;
using Fate = BiT.Operator.Tests.EndToEnd.OperatorChaosTests.Fate;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// The operator crash as it really happens: the real <c>bit-operator run</c> process, SIGKILLed at random points
/// (seeded) across a batch of jobs and started again each time, while the test plays the kubelet (as in
/// <see cref="OperatorChaosTests"/>, which stops an in-process operator cooperatively). No graceful anything: a kill
/// lands mid-request, between a pod's creation and the status write, mid-restart, or while the process is still
/// starting. Kills: <c>BIT_OPERATOR_KILLS</c> (default 20, which fits CI's 2 cores; 50 run locally, see
/// docs/reliability.md); seed: <c>BIT_CHAOS_SEED</c>.
/// </summary>
public sealed class OperatorProcessChaosTests
{
    private const string OperatorUser = "bit-operator-chaos";

    private static readonly int Kills = int.TryParse(Environment.GetEnvironmentVariable("BIT_OPERATOR_KILLS"), out var kills) && kills >= 5 ? kills : 20;

    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("BIT_CHAOS_SEED"), out var seed) ? seed : 2026;

    [Fact]
    public async Task The_operator_process_SIGKILLed_at_random_points_leaves_one_pod_per_attempt_and_every_job_in_its_phase()
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        var dir = Directory.CreateTempSubdirectory("bit-op-chaos-").FullName;
        var kubeconfig = cluster.Server.WriteKubeconfig(Path.Combine(dir, "kubeconfig"), cluster.Server.IssueUserToken(OperatorUser, "system:masters"));
        var dll = Path.Combine(AppContext.BaseDirectory, "bit-operator.dll");
        var args = new[]
        {
            dll, "run", "--kubeconfig", kubeconfig, "--namespace", TestCluster.Namespace, "--leader-elect", "false",
            "--metrics-port", "0", "--trainer-image", TestCluster.TrainerImage, "--parallelism", "4",
        };

        var jobs = await OperatorChaosTests.CreateJobsAsync(cluster, "kill");

        var added = new ConcurrentQueue<(string Name, string Uid)>();
        using var watching = new CancellationTokenSource();
        var watcher = await OperatorChaosTests.WatchPodsAddedAsync(cluster, added, watching.Token);

        var random = new Random(Seed);
        Console.WriteLine($"operator process chaos: {Kills} kills, seed {Seed}");
        var killed = 0;
        var seen = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        using var done = new CancellationTokenSource();
        var kubelet = Task.Run(() => OperatorChaosTests.PlayKubeletAsync(cluster, jobs, () => Volatile.Read(ref killed), seen, done.Token, Kills));

        var started = Stopwatch.StartNew();
        var writesAtKill = new List<int>();
        var beforeFirstRequest = 0;
        try
        {
            while (killed < Kills)
            {
                var requests = cluster.Server.Requests.Count(user: OperatorUser);
                var writes = cluster.Server.Requests.Writes(user: OperatorUser);
                using var op = Start(args, dir);
                var point = random.Next(10);
                if (point < 2)
                {
                    // While it starts: at a random moment, whether or not it has said anything yet.
                    await Task.Delay(random.Next(0, 1500));
                }
                else
                {
                    // Once it talks to the cluster (lists, watches: the initial sync) ...
                    await TestCluster.WaitUntilAsync(() => Task.FromResult(cluster.Server.Requests.Count(user: OperatorUser) > requests || op.HasExited), TimeSpan.FromSeconds(60), "the operator's first request");
                    if (point < 5)
                    {
                        await Task.Delay(random.Next(0, 300));
                    }
                    else
                    {
                        // ... or once it writes (creates, status patches; at most 3 s when it has nothing to write):
                        // after a random number of further writes, or a random moment, whichever first.
                        var firstWrite = DateTime.UtcNow + TimeSpan.FromSeconds(3);
                        while (cluster.Server.Requests.Writes(user: OperatorUser) == writes && DateTime.UtcNow < firstWrite && !op.HasExited)
                        {
                            await Task.Delay(2);
                        }

                        var afterWrites = random.Next(0, 8);
                        var until = DateTime.UtcNow + TimeSpan.FromMilliseconds(random.Next(5, 400));
                        var from = cluster.Server.Requests.Writes(user: OperatorUser);
                        while (cluster.Server.Requests.Writes(user: OperatorUser) < from + afterWrites && DateTime.UtcNow < until && !op.HasExited)
                        {
                            await Task.Delay(2);
                        }
                    }
                }

                Assert.False(op.HasExited, $"the operator exited by itself with {(op.HasExited ? op.ExitCode : 0)}");
                if (cluster.Server.Requests.Count(user: OperatorUser) == requests)
                {
                    beforeFirstRequest++;
                }

                op.Kill(entireProcessTree: true); // SIGKILL
                await op.WaitForExitAsync();
                writesAtKill.Add(cluster.Server.Requests.Writes(user: OperatorUser) - writes);
                Interlocked.Increment(ref killed);
                Assert.False(kubelet.IsFaulted, kubelet.Exception?.ToString());
            }

            using (var last = Start(args, dir))
            {
                try
                {
                    foreach (var (name, fate) in jobs)
                    {
                        var phase = fate == Fate.FailsPermanently ? JobPhase.Failed : JobPhase.Succeeded;
                        await cluster.WaitForJobAsync(JobKind.FineTune, name, s => s.Phase == phase && s.CompletionTime is not null, TimeSpan.FromSeconds(90), $"{name} {phase}");
                    }
                }
                finally
                {
                    last.Kill(entireProcessTree: true);
                    await last.WaitForExitAsync();
                }
            }

            await done.CancelAsync();
            await kubelet;
            var elapsed = started.Elapsed;

            await TestCluster.WaitUntilAsync(() => Task.FromResult(added.Count >= jobs.Count + jobs.Count(j => j.Value == Fate.RestartsOnceThenSucceeds)), TimeSpan.FromSeconds(10), "the watch to catch up");
            await watching.CancelAsync();
            await watcher;
            var expected = jobs.SelectMany(j => j.Value == Fate.RestartsOnceThenSucceeds ? [$"{j.Key}-run-1", $"{j.Key}-run-2"] : new[] { $"{j.Key}-run-1" }).ToList();
            Assert.Equal(expected.Order(StringComparer.Ordinal), added.Select(a => a.Name).Order(StringComparer.Ordinal));
            Assert.Equal(expected.Order(StringComparer.Ordinal), seen.Keys.Order(StringComparer.Ordinal));
            Assert.All(added, a => Assert.Equal(seen[a.Name], a.Uid));

            foreach (var (name, fate) in jobs)
            {
                var job = await cluster.GetJobAsync(JobKind.FineTune, name);
                Assert.NotNull(job); // no job lost
                var s = BiTJobStatus.FromJson(job.Status);
                Assert.True(s.IsConditionTrue(ConditionTypes.Validated), $"{name}: Validated");
                Assert.NotNull(s.StartTime);
                switch (fate)
                {
                    case Fate.Succeeds:
                        Assert.Equal((0, 0.5, $"{name}-run-1"), (s.Restarts ?? 0, s.Result?.Top1 ?? -1, s.PodName));
                        break;
                    case Fate.FailsPermanently:
                        Assert.Equal(0, s.Restarts ?? 0);
                        Assert.Equal(("TrainerFailed", "dataset unreadable"), (s.FindCondition(ConditionTypes.Failed)?.Reason, s.FindCondition(ConditionTypes.Failed)?.Message));
                        break;
                    case Fate.RestartsOnceThenSucceeds:
                        Assert.Equal(1, s.Restarts);
                        var restart = Assert.Single(s.RestartHistory!);
                        Assert.Equal(("Killed", 137, $"{name}-run-1"), (restart.Reason, restart.ExitCode ?? 0, restart.PodName));
                        Assert.Equal((0.5, $"{name}-run-2"), (s.Result?.Top1 ?? -1, s.PodName));
                        break;
                }
            }

            Console.WriteLine($"operator process chaos: {Kills} kills in {elapsed.TotalSeconds:F0} s; {beforeFirstRequest} before the process's first request; writes before a kill: {string.Join(",", writesAtKill)}");
            Assert.True(beforeFirstRequest > 0, "no kill fell before the process's first request");
            Assert.Contains(writesAtKill, n => n >= 3);
        }
        finally
        {
            await done.CancelAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Process Start(string[] args, string dir)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var p = Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        return p;
    }
}
