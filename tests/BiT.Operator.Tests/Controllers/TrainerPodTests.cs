using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Pods;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using static BiT.Operator.Tests.Controllers.JobFixtures;

namespace BiT.Operator.Tests.Controllers;

public sealed class TrainerPodTests
{
    private static ReconcileDecision First(JsonObject spec) =>
        new JobReconciler(Options, new FakePlanner()).Reconcile(new ReconcileInput(JobKind.FineTune, Job(spec), [], null, T0));

    [Fact]
    public void The_trainer_pod_is_locked_down_and_asks_for_its_gpus()
    {
        var spec = Spec();
        spec["resources"] = new JsonObject
        {
            ["gpus"] = 2,
            ["cpu"] = "8",
            ["memory"] = "32Gi",
            ["nodeSelector"] = new JsonObject { ["gpu"] = "a100" },
            ["tolerations"] = new JsonArray(new JsonObject { ["key"] = "nvidia.com/gpu", ["operator"] = "Exists", ["effect"] = "NoSchedule" }),
            ["priorityClassName"] = "training",
        };
        var pod = First(spec).Actions.OfType<CreatePod>().Single().Pod;
        var c = pod.Spec.Containers.Single();
        Assert.Equal("2", c.Resources.Requests["nvidia.com/gpu"].ToString());
        Assert.Equal("2", c.Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal("32Gi", c.Resources.Limits["memory"].ToString());
        Assert.Equal("a100", pod.Spec.NodeSelector["gpu"]);
        Assert.Equal("nvidia.com/gpu", pod.Spec.Tolerations.Single().Key);
        Assert.Equal("training", pod.Spec.PriorityClassName);
        Assert.True(pod.Spec.SecurityContext.RunAsNonRoot);
        Assert.Equal("RuntimeDefault", pod.Spec.SecurityContext.SeccompProfile.Type);
        Assert.False(c.SecurityContext.AllowPrivilegeEscalation);
        Assert.True(c.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal(["ALL"], c.SecurityContext.Capabilities.Drop);
        Assert.Equal(Options.TerminationGracePeriodSeconds, pod.Spec.TerminationGracePeriodSeconds);
        Assert.Equal("Never", pod.Spec.RestartPolicy);
        // One trainer process per GPU: the pod's command starts two local ranks, each on its own GPU.
        Assert.Equal(["train", "--plan", PodPaths.PlanFile, "--processes", "2"], c.Args);
        Assert.Equal("true", c.Env.Single(e => e.Name == TrainerEnv.GpuPerRank).Value);
        Assert.Equal("pets-trainer", pod.Spec.ServiceAccountName);
        Assert.Equal("pets-ckpt", pod.Spec.Volumes.Single(v => v.Name == "checkpoints").PersistentVolumeClaim.ClaimName);
        // An existing claim may be shared: each job keeps its checkpoints in its own directory of it.
        Assert.Equal("pets", c.VolumeMounts.Single(m => m.Name == "checkpoints").SubPath);
        var owner = pod.Metadata.OwnerReferences.Single();
        Assert.Equal(("BiTFineTuneJob", "uid-pets", true), (owner.Kind, owner.Uid, owner.Controller == true));
    }

    [Fact]
    public void A_checkpoint_claim_is_created_from_class_and_size_when_no_claim_is_named()
    {
        var spec = Spec();
        spec["checkpoint"] = new JsonObject { ["volume"] = new JsonObject { ["storageClassName"] = "fast", ["size"] = "10Gi" } };
        var d = First(spec);
        var pvc = d.Actions.OfType<EnsureObject>().Select(e => e.Object).OfType<k8s.Models.V1PersistentVolumeClaim>().Single();
        Assert.Equal(("pets-checkpoints", "fast", "10Gi"), (pvc.Metadata.Name, pvc.Spec.StorageClassName, pvc.Spec.Resources.Requests["storage"].ToString()));
        var pod = d.Actions.OfType<CreatePod>().Single().Pod;
        Assert.Equal("pets-checkpoints", pod.Spec.Volumes.Single(v => v.Name == "checkpoints").PersistentVolumeClaim.ClaimName);
        // The job's own claim: its checkpoints at the root.
        Assert.Null(pod.Spec.Containers[0].VolumeMounts.Single(m => m.Name == "checkpoints").SubPath);
    }

    [Fact]
    public void The_trainer_role_is_limited_to_its_own_jobs_status()
    {
        var role = First(Spec()).Actions.OfType<EnsureObject>().Select(e => e.Object).OfType<k8s.Models.V1Role>().Single();
        Assert.All(role.Rules, r => Assert.Equal(["pets"], r.ResourceNames));
        Assert.Contains(role.Rules, r => r.Resources.Contains("bitfinetunejobs/status") && r.Verbs.Contains("patch"));
        Assert.DoesNotContain(role.Rules, r => r.Verbs.Contains("delete") || r.Verbs.Contains("create") || r.Verbs.Contains("list"));
    }
}
