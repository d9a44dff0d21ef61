using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Contracts.Pods;
using BiT.Operator.Controllers;
using BiT.Operator.Tests.Controllers;
using k8s;
using k8s.Autorest;
using k8s.Models;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// spec.podTemplate through the API server (the generated CRD's schema) and the operator: the pod the operator
/// creates carries the template's fields and the job's labels, under the operator's own.
/// </summary>
public sealed class PodTemplateEndToEndTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static Task<TestCluster> Start() => TestCluster.StartAsync(new EmulatorOptions { RunPods = false });

    private static JsonObject Template() => (JsonObject)JsonNode.Parse("""
        {
          "labels": {"team": "vision", "app.kubernetes.io/managed-by": "someone-else"},
          "annotations": {"example.com/owner": "ml-platform"},
          "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "gpu", "operator": "In", "values": ["a100"]}]}]}}},
          "imagePullSecrets": [{"name": "registry"}],
          "env": [{"name": "HF_HOME", "value": "/cache"}, {"name": "BIT_JOB_NAME", "value": "forged"}],
          "envFrom": [{"configMapRef": {"name": "proxy"}}],
          "volumes": [{"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}],
          "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
          "runtimeClassName": "nvidia",
          "sidecars": [{"name": "uploader", "image": "example.com/uploader:1", "args": ["--watch", "/ckpt"], "volumeMounts": [{"name": "checkpoints", "mountPath": "/ckpt", "readOnly": true}]}]
        }
        """)!;

    private static async Task CreateAsync(TestCluster cluster, string name, JsonObject spec, JsonObject? labels = null)
    {
        var body = new JsonObject
        {
            ["apiVersion"] = ApiInfo.ApiVersion,
            ["kind"] = JobKind.FineTune.Kind,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = TestCluster.Namespace, ["labels"] = labels },
            ["spec"] = spec,
        };
        await cluster.Admin.CustomObjects.CreateNamespacedCustomObjectAsync(
            JsonSerializer.Deserialize<JsonElement>(body.ToJsonString()), ApiInfo.Group, ApiInfo.Version, TestCluster.Namespace, JobKind.FineTune.Plural);
    }

    [Fact]
    public async Task The_trainer_pod_carries_the_templates_fields_and_the_jobs_labels_under_the_operators_own()
    {
        await using var cluster = await Start();
        await using var op = cluster.StartOperator();
        var spec = ContractsJobPlannerTests.RealSpec();
        spec["podTemplate"] = Template();
        await CreateAsync(cluster, "styled", spec, new JsonObject { ["project"] = "pets", ["team"] = "from-job" });
        await cluster.WaitForJobAsync(JobKind.FineTune, "styled", s => s.PodName == "styled-run-1", Timeout, "the first pod");
        V1Pod? pod = null;
        await TestCluster.WaitUntilAsync(async () => (pod = (await cluster.PodsAsync()).FirstOrDefault(p => p.Metadata.Name == "styled-run-1")) is not null, Timeout, "pod styled-run-1");

        // Read back from the API server: what it stored, after its own schema and defaulting.
        Assert.Equal("pets", pod!.Metadata.Labels["project"]);
        Assert.Equal("vision", pod.Metadata.Labels["team"]);
        Assert.Equal(OwnedObjects.ManagedBy, pod.Metadata.Labels[OwnedObjects.ManagedByLabel]);
        Assert.Equal("ml-platform", pod.Metadata.Annotations["example.com/owner"]);
        Assert.Contains(OwnedObjects.PlanHashAnnotation, pod.Metadata.Annotations.Keys);
        Assert.Equal("a100", pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms.Single().MatchExpressions.Single().Values.Single());
        Assert.Equal("registry", pod.Spec.ImagePullSecrets.Single().Name);
        Assert.Equal("nvidia", pod.Spec.RuntimeClassName);
        Assert.Contains(pod.Spec.Volumes, v => v.Name == "cache" && v.EmptyDir?.SizeLimit?.ToString() == "1Gi");

        var trainer = pod.Spec.Containers.Single();
        Assert.Equal("styled", trainer.Env.Single(e => e.Name == TrainerEnv.JobName).Value);
        Assert.Equal("/cache", trainer.Env.Single(e => e.Name == "HF_HOME").Value);
        Assert.Equal("proxy", trainer.EnvFrom.Single().ConfigMapRef.Name);
        Assert.Contains(trainer.VolumeMounts, m => m.Name == "cache" && m.MountPath == "/cache");
        Assert.Contains(trainer.VolumeMounts, m => m.Name == PodPaths.CheckpointsVolume && m.MountPath == PodPaths.Checkpoints);

        var sidecar = pod.Spec.InitContainers.Single();
        Assert.Equal(("uploader", "Always", "example.com/uploader:1"), (sidecar.Name, sidecar.RestartPolicy, sidecar.Image));
        Assert.Equal(["--watch", "/ckpt"], sidecar.Args);
        Assert.False(sidecar.SecurityContext.AllowPrivilegeEscalation);
        Assert.Equal(("checkpoints", true), (sidecar.VolumeMounts.Single().Name, sidecar.VolumeMounts.Single().ReadOnlyProperty == true));
    }

    [Fact]
    public async Task The_crd_schema_refuses_a_template_of_the_wrong_shape_and_the_operator_a_mount_over_the_pods_own_paths()
    {
        await using var cluster = await Start();
        await using var op = cluster.StartOperator();

        // The schema of core/v1 Affinity, generated into the CRD, is the API server's to enforce.
        var bad = ContractsJobPlannerTests.RealSpec();
        bad["podTemplate"] = JsonNode.Parse("""{"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": "gpu"}}}""");
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => CreateAsync(cluster, "misshapen", bad));
        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, refused.Response.StatusCode);
        Assert.Contains("requiredDuringSchedulingIgnoredDuringExecution", refused.Response.Content, StringComparison.Ordinal);

        var noName = ContractsJobPlannerTests.RealSpec();
        noName["podTemplate"] = JsonNode.Parse("""{"sidecars": [{"image": "x"}]}""");
        refused = await Assert.ThrowsAsync<HttpOperationException>(() => CreateAsync(cluster, "nameless", noName));
        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, refused.Response.StatusCode);

        var badQuantity = ContractsJobPlannerTests.RealSpec();
        badQuantity["podTemplate"] = JsonNode.Parse("""{"volumes": [{"name": "c", "emptyDir": {"sizeLimit": "2Gx"}}]}""");
        refused = await Assert.ThrowsAsync<HttpOperationException>(() => CreateAsync(cluster, "badquantity", badQuantity));
        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, refused.Response.StatusCode);
        Assert.Contains("sizeLimit", refused.Response.Content, StringComparison.Ordinal);

        // Well-formed but breaking the pod: the operator's validator says so in a condition and creates no pod.
        var shadowing = ContractsJobPlannerTests.RealSpec();
        shadowing["podTemplate"] = JsonNode.Parse("""{"volumes": [{"name": "c", "emptyDir": {}}], "volumeMounts": [{"name": "c", "mountPath": "/checkpoints"}]}""");
        await CreateAsync(cluster, "shadowing", shadowing);
        var status = await cluster.WaitForJobAsync(JobKind.FineTune, "shadowing", s => s.FindCondition(ConditionTypes.Validated)?.Status == "False", Timeout, "the job to fail validation");
        Assert.Equal(JobPhase.Failed, status.Phase);
        Assert.Contains("spec.podTemplate.volumeMounts[0].mountPath: must not be at, above or inside /checkpoints", status.FindCondition(ConditionTypes.Validated)!.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(await cluster.PodsAsync(), p => p.Metadata.Name.StartsWith("shadowing-", StringComparison.Ordinal));
    }
}
