using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Contracts.Pods;
using BiT.Operator.Controllers;
using static BiT.Operator.Tests.Controllers.JobFixtures;

namespace BiT.Operator.Tests.Controllers;

public sealed class PodTemplateMergeTests
{
    private static readonly JsonObject Template = (JsonObject)JsonNode.Parse("""
        {
          "labels": {"team": "vision", "app.kubernetes.io/managed-by": "someone-else", "bit.training/attempt": "99"},
          "annotations": {"example.com/owner": "ml", "bit.training/plan-hash": "forged"},
          "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"team": "vision"}}}]}},
          "imagePullSecrets": [{"name": "registry"}],
          "env": [{"name": "HF_HOME", "value": "/cache"}, {"name": "BIT_JOB_NAME", "value": "forged"}, {"name": "TMPDIR", "value": "/"}, {"name": "WHO", "value": "$(BIT_JOB_NAME)"}],
          "envFrom": [{"secretRef": {"name": "tokens"}}],
          "volumes": [{"name": "cache", "emptyDir": {"sizeLimit": "2Gi"}}],
          "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
          "runtimeClassName": "nvidia",
          "sidecars": [{"name": "uploader", "image": "example.com/uploader:1", "securityContext": {"runAsUser": 2000}, "volumeMounts": [{"name": "checkpoints", "mountPath": "/ckpt", "readOnly": true}]}]
        }
        """)!;

    private static k8s.Models.V1Pod Pod(JsonObject? template, IDictionary<string, string>? jobLabels = null)
    {
        var spec = Spec();
        if (template is not null)
        {
            spec["podTemplate"] = template.DeepClone();
        }

        var job = Job(spec);
        job.Metadata.Labels = jobLabels;
        var d = new JobReconciler(Options, new FakePlanner()).Reconcile(new ReconcileInput(JobKind.FineTune, job, [], null, T0));
        return d.Actions.OfType<CreatePod>().Single().Pod;
    }

    [Fact]
    public void The_template_reaches_the_pod_and_the_operators_own_fields_win()
    {
        var plain = Pod(null);
        var pod = Pod(Template, new Dictionary<string, string> { ["team"] = "from-job", ["project"] = "pets" });
        var labels = pod.Metadata.Labels;
        Assert.Equal("vision", labels["team"]); // the template's over the job's
        Assert.Equal("pets", labels["project"]); // the job's own labels propagate
        Assert.Equal(OwnedObjects.ManagedBy, labels[OwnedObjects.ManagedByLabel]);
        Assert.Equal("1", labels[OwnedObjects.AttemptLabel]);
        Assert.Equal("ml", pod.Metadata.Annotations["example.com/owner"]);
        Assert.Equal(plain.Metadata.Annotations[OwnedObjects.PlanHashAnnotation], pod.Metadata.Annotations[OwnedObjects.PlanHashAnnotation]);

        Assert.Equal("kubernetes.io/hostname", pod.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution.Single().TopologyKey);
        Assert.Equal("registry", pod.Spec.ImagePullSecrets.Single().Name);
        Assert.Equal("nvidia", pod.Spec.RuntimeClassName);

        var trainer = pod.Spec.Containers.Single();
        Assert.Equal(PodPaths.TrainerContainer, trainer.Name);
        Assert.Equal("pets", trainer.Env.Single(e => e.Name == TrainerEnv.JobName).Value);
        Assert.Equal(PodPaths.Tmp, trainer.Env.Single(e => e.Name == TrainerEnv.TempDirectory).Value);
        Assert.Equal("/cache", trainer.Env.Single(e => e.Name == "HF_HOME").Value);
        // After the operator's variables, so that $(BIT_JOB_NAME) expands.
        Assert.True(trainer.Env.ToList().FindIndex(e => e.Name == "WHO") > trainer.Env.ToList().FindIndex(e => e.Name == TrainerEnv.JobName));
        Assert.Equal("tokens", trainer.EnvFrom.Single().SecretRef.Name);
        Assert.Equal(plain.Spec.Containers[0].Env.Count + 2, trainer.Env.Count);

        Assert.Equal("2Gi", pod.Spec.Volumes.Single(v => v.Name == "cache").EmptyDir.SizeLimit.ToString());
        Assert.Equal(plain.Spec.Volumes.Count + 1, pod.Spec.Volumes.Count);
        Assert.Equal("/cache", trainer.VolumeMounts.Single(m => m.Name == "cache").MountPath);
        Assert.Equal(plain.Spec.Containers[0].VolumeMounts.Select(m => m.MountPath), trainer.VolumeMounts.Take(plain.Spec.Containers[0].VolumeMounts.Count).Select(m => m.MountPath));

        var sidecar = pod.Spec.InitContainers.Single();
        Assert.Equal(("uploader", "Always"), (sidecar.Name, sidecar.RestartPolicy));
        Assert.Equal(2000, sidecar.SecurityContext.RunAsUser);
        Assert.Equal((false, false, true), (sidecar.SecurityContext.AllowPrivilegeEscalation, sidecar.SecurityContext.Privileged, sidecar.SecurityContext.RunAsNonRoot));
        Assert.Equal(["ALL"], sidecar.SecurityContext.Capabilities.Drop);
        Assert.Equal("checkpoints", sidecar.VolumeMounts.Single().Name);

        // The operator's security of the pod and the trainer is untouched.
        Assert.True(trainer.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal(plain.Spec.SecurityContext.RunAsUser, pod.Spec.SecurityContext.RunAsUser);
        Assert.Equal(plain.Spec.ServiceAccountName, pod.Spec.ServiceAccountName);
    }

    [Fact]
    public void Without_a_template_the_jobs_labels_still_reach_the_pod_but_not_over_the_operators()
    {
        var pod = Pod(null, new Dictionary<string, string> { ["project"] = "pets", [OwnedObjects.JobUidLabel] = "forged" });
        Assert.Equal("pets", pod.Metadata.Labels["project"]);
        Assert.Equal("uid-pets", pod.Metadata.Labels[OwnedObjects.JobUidLabel]);
        Assert.Null(pod.Spec.InitContainers);
        Assert.Null(pod.Spec.Affinity);
    }

    [Fact]
    public void The_pod_gets_copies_so_that_the_jobs_spec_is_never_changed_by_the_merge()
    {
        var template = System.Text.Json.JsonSerializer.Deserialize<PodTemplateSpec>(Template.ToJsonString(), BiTJson.Options)!;
        var pod = new k8s.Models.V1Pod
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = "p" },
            Spec = new k8s.Models.V1PodSpec { Containers = [new k8s.Models.V1Container { Name = PodPaths.TrainerContainer, Env = [], VolumeMounts = [] }], Volumes = [] },
        };
        PodTemplateMerge.Apply(pod, template, null);
        pod.Spec.InitContainers[0].Image = "changed";
        pod.Spec.Volumes[0].EmptyDir.Medium = "Memory";
        Assert.Equal("example.com/uploader:1", template.Sidecars![0].Image);
        Assert.Null(template.Volumes![0].EmptyDir.Medium);
        Assert.Null(template.Sidecars[0].RestartPolicy);
    }

    [Theory]
    [InlineData("{\"volumes\": [{\"name\": \"checkpoints\", \"emptyDir\": {}}]}", "spec.podTemplate.volumes[0].name")]
    [InlineData("{\"volumes\": [{\"name\": \"c\", \"emptyDir\": {}}], \"volumeMounts\": [{\"name\": \"c\", \"mountPath\": \"/scratch\"}]}", "spec.podTemplate.volumeMounts[0].mountPath")]
    [InlineData("{\"sidecars\": [{\"name\": \"trainer\", \"image\": \"x\"}]}", "spec.podTemplate.sidecars[0].name")]
    [InlineData("{\"volumes\": [{\"name\": \"c\", \"emptyDir\": {\"sizeLimit\": {}}}]}", "spec.podTemplate.volumes")]
    public void A_template_that_would_break_the_pod_fails_the_job_with_a_condition_naming_the_field(string template, string path)
    {
        var spec = Spec();
        spec["podTemplate"] = JsonNode.Parse(template);
        var d = new JobReconciler(Options, new FakePlanner()).Reconcile(new ReconcileInput(JobKind.FineTune, Job(spec), [], null, T0));
        var validated = d.Status.FindCondition(ConditionTypes.Validated)!;
        Assert.Equal(("False", JobReconciler.InvalidSpecReason), (validated.Status, validated.Reason));
        Assert.Contains(path, validated.Message, StringComparison.Ordinal);
        Assert.Empty(d.Actions.OfType<CreatePod>());
    }
}
