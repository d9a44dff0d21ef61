using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Tests.Controllers;
using k8s;
using k8s.Models;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// runPolicy.cleanupSecondsAfterFinished on the test cluster, under the chart's RBAC rules: after the job succeeded
/// and the delay passed, its pods and its created checkpoint claim are gone and the job object stays with its status
/// (what a GitOps tool needs to see to leave it alone).
/// </summary>
public sealed class CleanupEndToEndTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_finished_job_keeps_its_object_and_status_and_loses_its_pods_and_claim()
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        await using var op = cluster.StartOperator();
        var spec = ContractsJobPlannerTests.RealSpec();
        spec["checkpoint"]!["volume"] = new JsonObject { ["size"] = "1Gi" };
        spec["runPolicy"] = new JsonObject { ["cleanupSecondsAfterFinished"] = 2 };
        await cluster.CreateJobAsync(JobKind.FineTune, "tidy", spec);
        await cluster.WaitForJobAsync(JobKind.FineTune, "tidy", s => s.PodName == "tidy-run-1", Timeout, "the first pod");
        await TestCluster.WaitUntilAsync(async () => (await cluster.PodsAsync()).Any(p => p.Metadata.Name == "tidy-run-1"), Timeout, "pod tidy-run-1");
        await cluster.Admin.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("tidy-checkpoints", TestCluster.Namespace);

        // The trainer reports its result and exits 0.
        await cluster.Admin.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch("""{"status":{"result":{"top1":0.5,"modelPath":"/checkpoints/final/model.npz"}}}""", V1Patch.PatchType.MergePatch),
            ApiInfo.Group, ApiInfo.Version, TestCluster.Namespace, JobKind.FineTune.Plural, "tidy");
        await cluster.Admin.CoreV1.PatchNamespacedPodStatusAsync(
            new V1Patch("""{"status":{"phase":"Succeeded","containerStatuses":[{"name":"trainer","image":"bit-trainer:e2e","imageID":"","ready":false,"restartCount":0,"state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}}""", V1Patch.PatchType.MergePatch),
            "tidy-run-1", TestCluster.Namespace);
        var succeeded = await cluster.WaitForJobAsync(JobKind.FineTune, "tidy", s => s.Phase == JobPhase.Succeeded, Timeout, "the job to succeed");
        Assert.False(succeeded.IsConditionTrue(ConditionTypes.ResourcesReleased));

        var released = await cluster.WaitForJobAsync(JobKind.FineTune, "tidy", s => s.IsConditionTrue(ConditionTypes.ResourcesReleased), Timeout, "the pods and claim to be released");
        Assert.True(released.CompletionTime is { } done && released.FindCondition(ConditionTypes.ResourcesReleased)!.LastTransitionTime >= done.AddSeconds(2));
        await TestCluster.WaitUntilAsync(async () => (await cluster.PodsAsync()).Count == 0, Timeout, "the pods to be gone");
        await TestCluster.WaitUntilAsync(async () =>
            (await cluster.Admin.CoreV1.ListNamespacedPersistentVolumeClaimAsync(TestCluster.Namespace)).Items.All(c => c.Metadata.Name != "tidy-checkpoints" || c.Metadata.DeletionTimestamp is not null),
            Timeout, "the checkpoint claim to be deleted");

        var job = await cluster.GetJobAsync(JobKind.FineTune, "tidy");
        Assert.NotNull(job);
        Assert.Null(job!.Metadata.DeletionTimestamp);
        Assert.Equal(JobPhase.Succeeded, released.Phase);
        Assert.Equal(0.5, released.Result!.Top1);
        Assert.True(released.IsConditionTrue(ConditionTypes.Ready));
        var events = (await cluster.Admin.CoreV1.ListNamespacedEventAsync(TestCluster.Namespace)).Items.Where(e => e.InvolvedObject.Name == "tidy").ToList();
        Assert.Single(events, e => e.Reason == "ResourcesReleased");
        // Nothing comes back: no new pod, no new claim.
        Assert.Equal(released.PodName, (await cluster.WaitForJobAsync(JobKind.FineTune, "tidy", _ => true, Timeout, "the job")).PodName);
        Assert.Empty(await cluster.PodsAsync());
    }
}
