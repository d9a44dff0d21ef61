using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Tests.Controllers;
using k8s;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// The fault suite against the API: a batch of jobs reconciled while 20 % of requests fail with 500, 10 % with
/// 429, a conflict storm refuses writes, watches are dropped and answered 410 Gone. Every job must still get
/// exactly one pod and its Validated condition, and the operator must keep running.
/// </summary>
public sealed class ApiFaultTests
{
    [Fact]
    public async Task A_batch_of_jobs_gets_one_pod_each_through_errors_conflicts_dropped_watches_and_410s()
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        var faults = cluster.Server.Faults;
        faults.Seed(2026);
        await using var op = cluster.StartOperator();
        string[] names = ["f-1", "f-2", "f-3", "f-4", "f-5", "f-6"];
        foreach (var name in names)
        {
            await cluster.CreateJobAsync(JobKind.FineTune, name, ContractsJobPlannerTests.RealSpec());
        }

        // Created before the faults so that the test's own writes go through; the operator meets every fault.
        var errors = faults.AddErrorRate(0.2, 500);
        var throttled = faults.AddErrorRate(0.1, 429);
        faults.ConflictStorm(30);
        faults.ForceGoneOnNextWatches(3);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var dropper = Task.Run(async () =>
        {
            for (var i = 0; i < 5 && !stop.IsCancellationRequested; i++)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop.Token).ConfigureAwait(false);
                faults.DropWatches();
            }
        });

        await TestCluster.WaitUntilAsync(async () =>
        {
            var pods = await ListWithoutFaultsAsync(cluster);
            return names.All(n => pods.Contains(n + "-run-1"));
        }, TimeSpan.FromSeconds(90), "a pod for every job despite the faults");
        await dropper;
        faults.Remove(errors);
        faults.Remove(throttled);
        faults.Clear();

        foreach (var name in names)
        {
            var status = await cluster.WaitForJobAsync(JobKind.FineTune, name, s => s.IsConditionTrue(ConditionTypes.Validated) && s.PodName is not null,
                TimeSpan.FromSeconds(60), $"{name} validated with its pod recorded");
            Assert.NotEqual(JobPhase.Failed, status.Phase);
        }
        var all = (await cluster.PodsAsync()).Select(p => p.Metadata.Name).ToList();
        Assert.All(names, n => Assert.Single(all, p => p.StartsWith(n + "-run-", StringComparison.Ordinal)));
        Assert.False(op.Run.IsCompleted, "the operator stopped");
    }

    private static async Task<HashSet<string>> ListWithoutFaultsAsync(TestCluster cluster)
    {
        try
        {
            return [.. (await cluster.PodsAsync()).Select(p => p.Metadata.Name)];
        }
        catch (k8s.Autorest.HttpOperationException)
        {
            // The test's own list met an injected fault: look again.
            return [];
        }
    }
}
