using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using k8s;
using k8s.Models;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// Upstream to downstream with the real trainer: a BiTPretrainJob trains on five Fashion-MNIST classes and writes
/// its model to its directory of a checkpoint claim it shares with a BiTFineTuneJob; the fine-tune job, applied
/// first, waits for it, then mounts that directory read-only and fine-tunes the model on the other five classes,
/// writing its own checkpoints into its own directory of the same claim.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class TransferEndToEndTests(TrainerCluster fixture)
{
    private const string SharedClaim = "team-checkpoints";

    private TestCluster Cluster => fixture.Cluster;

    private static JsonObject Spec(int[] classes, JsonObject hyperparameters) => new()
    {
        ["model"] = new JsonObject { ["architecture"] = "Custom", ["blocks"] = new JsonArray(1, 1, 1, 1), ["widthFactor"] = 0.5 },
        // No trainExamples/imageSize: the operator defers those facts and the trainer measures them.
        ["dataset"] = new JsonObject
        {
            ["format"] = "Idx",
            ["path"] = TrainerCluster.Dataset,
            ["classes"] = new JsonArray([.. classes.Select(c => (JsonNode)c)]),
            ["numClasses"] = classes.Length,
        },
        ["hyperparameters"] = hyperparameters,
        ["checkpoint"] = new JsonObject { ["everySteps"] = 8, ["keep"] = 2, ["volume"] = new JsonObject { ["claimName"] = SharedClaim } },
        ["runPolicy"] = new JsonObject { ["backoffSeconds"] = 1, ["maxRestarts"] = 1 },
    };

    [Fact]
    public async Task A_pretrain_job_feeds_a_fine_tune_job_that_waits_for_it_and_trains_from_its_model()
    {
        fixture.EnsureOperator();
        await Cluster.CreateSharedClaimAsync(SharedClaim);
        var downstream = Spec([5, 6, 7, 8, 9], new JsonObject { ["batchSize"] = 8, ["totalSteps"] = 12, ["precropSize"] = 36, ["cropSize"] = 32 });
        downstream["model"]!["weights"] = new JsonObject { ["fromPretrainJob"] = new JsonObject { ["name"] = "fm-upstream" } };
        await Cluster.CreateJobAsync(JobKind.FineTune, "fm-downstream", downstream);
        var waiting = await Cluster.WaitForJobAsync(JobKind.FineTune, "fm-downstream",
            s => s.FindCondition(ConditionTypes.Running)?.Reason == "WaitingForPretrainJob", TimeSpan.FromSeconds(60), "the fine-tune job to wait for its pretrain job");
        Assert.Null(waiting.PodName);

        await Cluster.CreateJobAsync(JobKind.Pretrain, "fm-upstream",
            Spec([0, 1, 2, 3, 4], new JsonObject { ["batchSize"] = 8, ["totalSteps"] = 16, ["cropSize"] = 28, ["weightDecay"] = 0.0001 }));
        var upstream = await Cluster.WaitForJobAsync(JobKind.Pretrain, "fm-upstream",
            s => s.Phase is JobPhase.Succeeded or JobPhase.Failed, TimeSpan.FromSeconds(180), "the pretrain job to finish");
        Assert.True(upstream.Phase == JobPhase.Succeeded, $"pretrain {upstream.Phase}: {upstream.FindCondition(ConditionTypes.Failed)?.Message}");
        Assert.Equal(16, upstream.Progress?.Step);
        // The model the fine-tune job mounts is in the upstream job's directory of the shared claim.
        var claimDir = Cluster.Server.Kubelet.PvcHostPath(TestCluster.Namespace, SharedClaim);
        Assert.True(File.Exists(Path.Combine(claimDir, "fm-upstream", "final", "model.npz")));

        var status = await fixture.WaitAsync("fm-downstream", s => s.Phase is JobPhase.Succeeded, "the fine-tune job to succeed", 180);
        Assert.Equal(12, status.Progress?.Step);
        Assert.InRange(status.Result!.Top1!.Value, 0.0, 1.0);
        Assert.Equal(0, status.Restarts);
        // Each job wrote into its own directory: neither's step-N.ckpt nor final/ overwrote the other's.
        Assert.True(File.Exists(Path.Combine(claimDir, "fm-downstream", "final", "model.npz")));
        Assert.NotEqual(
            await File.ReadAllBytesAsync(Path.Combine(claimDir, "fm-upstream", "final", "model.npz")),
            await File.ReadAllBytesAsync(Path.Combine(claimDir, "fm-downstream", "final", "model.npz")));
        Assert.Empty(Directory.GetFiles(claimDir));

        var pod = (await Cluster.PodsAsync()).Single(p => p.Metadata.Name == "fm-downstream-run-1");
        var mount = pod.Spec.Volumes.Single(v => v.Name == "pretrained").PersistentVolumeClaim;
        Assert.Equal(SharedClaim, mount.ClaimName);
        Assert.True(mount.ReadOnlyProperty);
        Assert.Equal("fm-upstream", pod.Spec.Containers[0].VolumeMounts.Single(m => m.Name == "pretrained").SubPath);
        using var log = await Cluster.Admin.CoreV1.ReadNamespacedPodLogAsync("fm-downstream-run-1", TestCluster.Namespace);
        var text = await new StreamReader(log).ReadToEndAsync();
        Assert.Contains("weights: PretrainJob", text, StringComparison.Ordinal);
    }
}
