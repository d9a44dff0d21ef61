using System.Text.Json;
using BiT.Contracts;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using BiT.Operator.Runtime;
using k8s;
using k8s.Models;
using static BiT.Operator.Tests.Controllers.JobFixtures;

namespace BiT.Operator.Tests.Controllers;

/// <summary>The informers cache slimmed jobs and pods; nothing a reconcile reads may be lost on the way.</summary>
public sealed class SlimCacheTests
{
    private static V1Pod Owned(V1Pod pod, string? role = null)
    {
        pod.ApiVersion = "v1";
        pod.Kind = "Pod";
        pod.Metadata.ResourceVersion = "42";
        pod.Metadata.Labels = new Dictionary<string, string>
        {
            [OwnedObjects.ManagedByLabel] = OwnedObjects.ManagedBy,
            [OwnedObjects.JobNameLabel] = "pets",
            [OwnedObjects.AttemptLabel] = "2",
        };
        if (role is not null)
        {
            pod.Metadata.Labels[OwnedObjects.RoleLabel] = role;
        }

        pod.Metadata.OwnerReferences =
        [
            new V1OwnerReference { ApiVersion = "v1", Kind = "Node", Name = "n", Uid = "node-uid" },
            new V1OwnerReference { ApiVersion = ApiInfo.ApiVersion, Kind = JobKind.FineTune.Kind, Name = "pets", Uid = "job-uid", Controller = true, BlockOwnerDeletion = true },
        ];
        pod.Status.QosClass = "Burstable";
        pod.Status.PodIP = "10.0.0.7";
        return pod;
    }

    public static TheoryData<string> Ends() => ["exit0", "exit3", "exit4", "exit137", "oom", "evicted", "nodelost", "preempted", "running", "pending", "failed-no-status"];

    private static V1Pod Make(string which) => which switch
    {
        "exit0" => Ended("p", 0),
        "exit3" => Ended("p", 3, "stopped after checkpoint at step 300"),
        "exit4" => Ended("p", 4, "dataset not found"),
        "exit137" => Ended("p", 137),
        "oom" => Ended("p", 137, "", "OOMKilled"),
        "evicted" => WithMessage(Ended("p", 143, "", null, "Evicted"), "The node was low on resource: memory."),
        "nodelost" => Ended("p", 143, "", null, "NodeLost"),
        "preempted" => Preempted(),
        "running" => Pod("p", "Running", T0),
        "pending" => Pod("p", "Pending"),
        _ => new V1Pod { Metadata = new V1ObjectMeta { Name = "p", NamespaceProperty = "ml" }, Status = new V1PodStatus { Phase = "Failed", Reason = "UnexpectedAdmissionError", Message = "gpu gone" } },
    };

    private static V1Pod WithMessage(V1Pod pod, string message)
    {
        pod.Status.Message = message;
        return pod;
    }

    private static V1Pod Preempted()
    {
        var pod = Ended("p", 143);
        pod.Status.Conditions = [new V1PodCondition { Type = "DisruptionTarget", Status = "True", Reason = "PreemptionByScheduler", Message = "preempted" }];
        return pod;
    }

    [Theory]
    [MemberData(nameof(Ends))]
    public void A_slim_pod_is_classified_like_the_full_pod(string which)
    {
        var full = Owned(Make(which));
        var slim = JobController.SlimPod(full);
        Assert.Equal(PodOutcome.Classify(full), PodOutcome.Classify(slim));
        Assert.Equal(full.Status.Phase, slim.Status.Phase);
        Assert.Equal(full.Status.StartTime, slim.Status.StartTime);
        Assert.Equal(
            full.Status.ContainerStatuses?.FirstOrDefault()?.State?.Running?.StartedAt,
            slim.Status.ContainerStatuses?.FirstOrDefault()?.State?.Running?.StartedAt);
    }

    [Fact]
    public void A_slim_pod_keeps_identity_the_controller_reference_and_the_role_and_drops_the_rest()
    {
        var full = Owned(Ended("p", 0), role: OwnedObjects.CleanupRole);
        full.Metadata.DeletionTimestamp = T0.UtcDateTime;
        full.Spec = new V1PodSpec { Containers = [new V1Container { Name = "trainer", Image = "t:1" }] };
        var slim = JobController.SlimPod(full);

        Assert.Equal(("p", "ml", "pod-p", "42", T0.UtcDateTime), (slim.Metadata.Name, slim.Metadata.NamespaceProperty, slim.Metadata.Uid, slim.Metadata.ResourceVersion, slim.Metadata.DeletionTimestamp));
        var owner = Assert.Single(slim.Metadata.OwnerReferences);
        Assert.Equal((JobKind.FineTune.Kind, "pets", "job-uid", true, true), (owner.Kind, owner.Name, owner.Uid, owner.Controller, owner.BlockOwnerDeletion));
        Assert.True(OwnedObjects.IsCleanupPod(slim));
        Assert.Equal([OwnedObjects.RoleLabel], slim.Metadata.Labels.Keys);
        Assert.Null(slim.Spec);
        Assert.Null(slim.Status.QosClass);
        Assert.Null(slim.Status.PodIP);

        var trainer = JobController.SlimPod(Owned(Ended("q", 0)));
        Assert.False(OwnedObjects.IsCleanupPod(trainer));
        Assert.Null(trainer.Metadata.Labels);
    }

    [Fact]
    public void Slim_pods_share_their_repeated_strings()
    {
        // Strings as a JSON reader makes them: equal values, distinct instances.
        var a = KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(Owned(Pod("a", "Running", T0))));
        var b = KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(Owned(Pod("b", "Running", T0))));
        Assert.NotSame(a.Metadata.NamespaceProperty, b.Metadata.NamespaceProperty);

        var (x, y) = (JobController.SlimPod(a), JobController.SlimPod(b));
        Assert.Same(x.Metadata.NamespaceProperty, y.Metadata.NamespaceProperty);
        Assert.Same(x.Status.Phase, y.Status.Phase);
        Assert.Same(x.Metadata.OwnerReferences[0].Kind, y.Metadata.OwnerReferences[0].Kind);
        Assert.Same(x.Metadata.OwnerReferences[0].ApiVersion, y.Metadata.OwnerReferences[0].ApiVersion);
    }

    [Fact]
    public void A_slim_job_drops_bookkeeping_and_keeps_spec_status_and_metadata()
    {
        var job = KubernetesJson.Deserialize<JobObject>("""
            {"apiVersion":"bit.training/v1alpha1","kind":"BiTFineTuneJob",
             "metadata":{"name":"pets","namespace":"ml","uid":"u1","resourceVersion":"7","generation":2,"finalizers":["bit.training/checkpoint-cleanup"],
               "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{...}"},
               "managedFields":[{"manager":"kubectl","operation":"Apply"}]},
             "spec":{"model":{"architecture":"R50x1","weights":{"fromPretrainJob":{"name":"up"}}},"dataset":{"numClasses":37}},
             "status":{"phase":"Running","restarts":1}}
            """);
        var slim = JobController.SlimJob(job);
        Assert.Null(slim.Metadata.ManagedFields);
        Assert.Null(slim.Metadata.Annotations);
        Assert.Equal(["bit.training/checkpoint-cleanup"], slim.Metadata.Finalizers);
        Assert.Equal(("pets", "ml", "u1", "7", 2L), (slim.Metadata.Name, slim.Metadata.NamespaceProperty, slim.Metadata.Uid, slim.Metadata.ResourceVersion, slim.Metadata.Generation));
        Assert.Equal(37, slim.Spec.GetProperty("dataset").GetProperty("numClasses").GetInt32());
        Assert.Equal("Running", slim.Status!.Value.GetProperty("phase").GetString());
        Assert.Equal("up", slim.FromPretrainJob);
        Assert.Same(StringPool.Shared.Intern("ml"), slim.Metadata.NamespaceProperty);
    }
}
