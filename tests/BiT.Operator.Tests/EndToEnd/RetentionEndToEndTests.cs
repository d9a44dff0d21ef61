using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using k8s;
using k8s.Models;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// checkpoint.volume.onDelete with the real trainer: Delete on an existing, shared claim empties only the job's
/// directory (the finalizer and the cleanup pod) before the job goes; Retain on a created claim leaves the claim
/// behind, and a job of the same name applied again resumes from its checkpoints.
/// </summary>
[Collection(TrainerCollection.Name)]
public sealed class RetentionEndToEndTests(TrainerCluster fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private static string Ns => TestCluster.Namespace;

    private async Task DeleteAndWaitGoneAsync(JobKind kind, string name)
    {
        await Cluster.Admin.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiInfo.Group, ApiInfo.Version, Ns, kind.Plural, name);
        await TestCluster.WaitUntilAsync(async () => await Cluster.GetJobAsync(kind, name) is null, TimeSpan.FromSeconds(90), $"job {name} to be gone");
        await TestCluster.WaitUntilAsync(async () => (await Cluster.PodsAsync()).All(p => !p.Metadata.Name.StartsWith(name + "-", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(60), $"the pods of {name} to be gone");
    }

    private async Task<string> LogAsync(string pod)
    {
        using var log = await Cluster.Admin.CoreV1.ReadNamespacedPodLogAsync(pod, Ns);
        return await new StreamReader(log).ReadToEndAsync();
    }

    [Fact]
    public async Task Deleting_a_job_with_on_delete_Delete_empties_its_directory_of_a_shared_claim_and_nothing_else()
    {
        fixture.EnsureOperator();
        await Cluster.CreateSharedClaimAsync("scratch");
        var claimDir = Cluster.Server.Kubelet.PvcHostPath(Ns, "scratch");
        Directory.CreateDirectory(Path.Combine(claimDir, "neighbour"));
        await File.WriteAllTextAsync(Path.Combine(claimDir, "neighbour", "step-00000004.ckpt"), "another job's checkpoint");

        var spec = TrainerCluster.TinySpec(totalSteps: 12);
        spec["checkpoint"]!["volume"] = new JsonObject { ["claimName"] = "scratch", ["onDelete"] = "Delete" };
        await Cluster.CreateJobAsync(JobKind.FineTune, "tidy", spec);
        var status = await fixture.WaitAsync("tidy", s => s.Phase == JobPhase.Succeeded, "the job to succeed");
        Assert.Equal(12, status.Progress?.Step);
        var job = await Cluster.GetJobAsync(JobKind.FineTune, "tidy");
        Assert.Contains(OwnedObjects.CleanupFinalizer, job!.Metadata.Finalizers);
        Assert.True(File.Exists(Path.Combine(claimDir, "tidy", "final", "model.npz")));

        await DeleteAndWaitGoneAsync(JobKind.FineTune, "tidy");

        Assert.True(Directory.Exists(Path.Combine(claimDir, "tidy")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(claimDir, "tidy")));
        Assert.Equal("another job's checkpoint", await File.ReadAllTextAsync(Path.Combine(claimDir, "neighbour", "step-00000004.ckpt")));
        var events = (await Cluster.Admin.CoreV1.ListNamespacedEventAsync(Ns)).Items.Where(e => e.InvolvedObject.Name == "tidy").ToList();
        Assert.Contains(events, e => e.Reason == "DeletingCheckpoints");
        Assert.Contains(events, e => e.Reason == "CheckpointsDeleted");
    }

    [Fact]
    public async Task A_created_claim_with_on_delete_Retain_outlives_its_job_and_the_job_applied_again_resumes_from_it()
    {
        fixture.EnsureOperator();
        var spec = TrainerCluster.TinySpec(totalSteps: 400, everySteps: 4);
        spec["checkpoint"]!["volume"] = new JsonObject { ["size"] = "1Gi", ["onDelete"] = "Retain" };
        await Cluster.CreateJobAsync(JobKind.FineTune, "keeper", spec.DeepClone().AsObject());
        await fixture.WaitAsync("keeper", s => s.Checkpoint?.Step >= 4, "a first checkpoint");
        var claim = await Cluster.Admin.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("keeper-checkpoints", Ns);
        Assert.Null(claim.Metadata.OwnerReferences);

        await DeleteAndWaitGoneAsync(JobKind.FineTune, "keeper");
        claim = await Cluster.Admin.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("keeper-checkpoints", Ns);
        Assert.Null(claim.Metadata.DeletionTimestamp);
        Assert.NotEmpty(Directory.GetFiles(Cluster.Server.Kubelet.PvcHostPath(Ns, "keeper-checkpoints"), "step-*.ckpt"));

        // Applied again (GitOps): same name, same spec, same claim; the trainer resumes instead of starting over.
        await Cluster.CreateJobAsync(JobKind.FineTune, "keeper", spec.DeepClone().AsObject());
        var status = await fixture.WaitAsync("keeper", s => s.Phase == JobPhase.Succeeded, "the job applied again to succeed", 180);
        Assert.Equal(400, status.Progress?.Step);
        Assert.Contains("resuming from", await LogAsync("keeper-run-1"), StringComparison.Ordinal);
    }
}
