using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using BiT.Operator.Hosting;
using BiT.Operator.Runtime;
using BiT.Operator.Tests.Controllers;
using k8s;
using k8s.Models;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// The operator against the emulator's API server with no kubelet: pods stay Pending unless a test writes their
/// status, as envtest does. Covers what needs no trainer.
/// </summary>
public sealed class ClusterApiTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static JsonObject Spec() => ContractsJobPlannerTests.RealSpec();

    private static Task<TestCluster> Start() => TestCluster.StartAsync(new EmulatorOptions { RunPods = false });

    private static async Task<V1Pod> WaitForPodAsync(TestCluster cluster, string name)
    {
        V1Pod? pod = null;
        await TestCluster.WaitUntilAsync(async () =>
        {
            pod = (await cluster.PodsAsync()).FirstOrDefault(p => p.Metadata.Name == name);
            return pod is not null;
        }, Timeout, $"pod {name}");
        return pod!;
    }

    [Fact]
    public async Task A_valid_job_gets_its_owned_objects_and_one_pod_and_no_writes_while_nothing_changes()
    {
        await using var cluster = await Start();
        await using var op = cluster.StartOperator();
        await cluster.CreateJobAsync(JobKind.FineTune, "pets", Spec());
        var status = await cluster.WaitForJobAsync(JobKind.FineTune, "pets", s => s.PodName == "pets-run-1", Timeout, "the first pod");
        Assert.Equal(JobPhase.Pending, status.Phase);
        Assert.True(status.IsConditionTrue(ConditionTypes.Validated));
        Assert.Equal(20, status.Hyperparameters!.TotalSteps);
        Assert.Matches("^[0-9a-f]{64}$", status.PlanHash);

        var pod = await WaitForPodAsync(cluster, "pets-run-1");
        Assert.Equal("BiTFineTuneJob", pod.Metadata.OwnerReferences.Single().Kind);
        Assert.Equal(TestCluster.TrainerImage, pod.Spec.Containers[0].Image);
        var cm = await cluster.Admin.CoreV1.ReadNamespacedConfigMapAsync(OwnedObjects.PlanConfigMapName("pets", status.PlanHash!), TestCluster.Namespace);
        Assert.Contains("\"totalSteps\"", cm.Data["plan.json"], StringComparison.Ordinal);
        await cluster.Admin.CoreV1.ReadNamespacedServiceAccountAsync("pets-trainer", TestCluster.Namespace);
        var role = await cluster.Admin.RbacAuthorizationV1.ReadNamespacedRoleAsync("pets-trainer", TestCluster.Namespace);
        Assert.All(role.Rules, r => Assert.Equal(["pets"], r.ResourceNames));
        await cluster.Admin.RbacAuthorizationV1.ReadNamespacedRoleBindingAsync("pets-trainer", TestCluster.Namespace);

        // Quiet: resyncs and requeues happen, yet nothing is written.
        await Task.Delay(1500);
        var before = cluster.Server.Requests.Writes();
        var reconcilesBefore = op.Host.Controller!.Reconciles;
        op.Host.Controller.Queue.Add(new ObjectKey(JobKind.FineTune.Kind, TestCluster.Namespace, "pets"));
        await TestCluster.WaitUntilAsync(() => Task.FromResult(op.Host.Controller!.Reconciles > reconcilesBefore), Timeout, "a reconcile");
        await Task.Delay(500);
        Assert.Equal(before, cluster.Server.Requests.Writes());
        Assert.Single(await cluster.PodsAsync());
    }

    [Fact]
    public async Task A_bad_spec_is_reported_naming_the_field_with_an_event_and_no_hot_loop()
    {
        await using var cluster = await Start();
        await using var op = cluster.StartOperator();
        var spec = Spec();
        // An error the schema cannot catch: the image allow-list (operator configuration). A missing trainExamples
        // is no longer one: the plan is deferred to the trainer, which measures the data.
        spec["image"] = "evil.example/miner:1";
        await cluster.CreateJobAsync(JobKind.FineTune, "bad", spec);
        var status = await cluster.WaitForJobAsync(JobKind.FineTune, "bad", s => s.FindCondition(ConditionTypes.Validated)?.Status == "False", Timeout, "Validated=False");
        var message = status.FindCondition(ConditionTypes.Validated)!.Message;
        Assert.Contains("spec.image", message, StringComparison.Ordinal);
        Assert.Equal(JobPhase.Failed, status.Phase);

        await TestCluster.WaitUntilAsync(async () =>
            (await cluster.Admin.CoreV1.ListNamespacedEventAsync(TestCluster.Namespace)).Items.Any(e => e.Reason == JobReconciler.InvalidSpecReason && e.InvolvedObject.Name == "bad"),
            Timeout, "the InvalidSpec event");
        var writes = cluster.Server.Requests.Writes();
        var reconciles = op.Host.Controller!.Reconciles;
        await Task.Delay(1500);
        Assert.Equal(writes, cluster.Server.Requests.Writes());
        Assert.True(op.Host.Controller.Reconciles - reconciles <= 1, "no hot loop");
        Assert.Empty(await cluster.PodsAsync());
    }

    [Fact]
    public async Task A_job_asking_for_a_priority_class_or_toleration_outside_the_policy_gets_a_condition_an_event_and_no_pod()
    {
        await using var cluster = await Start();
        var settings = TestCluster.Settings();
        settings = settings with { Controller = settings.Controller with { Scheduling = new SchedulingPolicy { AllowedTolerationKeys = ["nvidia.com/*"] } } };
        await using var op = cluster.StartOperator(settings);

        var critical = Spec();
        critical["resources"] = new JsonObject { ["priorityClassName"] = "system-node-critical" };
        await cluster.CreateJobAsync(JobKind.FineTune, "critical", critical);
        var tolerating = Spec();
        tolerating["resources"] = new JsonObject { ["tolerations"] = new JsonArray(new JsonObject { ["key"] = "dedicated", ["operator"] = "Exists" }) };
        await cluster.CreateJobAsync(JobKind.FineTune, "tolerating", tolerating);
        var fine = Spec();
        fine["resources"] = new JsonObject
        {
            ["priorityClassName"] = "training",
            ["tolerations"] = new JsonArray(new JsonObject { ["key"] = "nvidia.com/gpu", ["operator"] = "Exists" }),
        };
        await cluster.CreateJobAsync(JobKind.FineTune, "fine", fine);

        foreach (var (name, field) in new[] { ("critical", "spec.resources.priorityClassName"), ("tolerating", "spec.resources.tolerations[0].key") })
        {
            var status = await cluster.WaitForJobAsync(JobKind.FineTune, name, s => s.FindCondition(ConditionTypes.Validated)?.Status == "False", Timeout, $"{name} Validated=False");
            var validated = status.FindCondition(ConditionTypes.Validated)!;
            Assert.Equal(SchedulingPolicy.RefusedReason, validated.Reason);
            Assert.Contains(field, validated.Message, StringComparison.Ordinal);
            Assert.Equal(JobPhase.Failed, status.Phase);
            await TestCluster.WaitUntilAsync(async () =>
                (await cluster.Admin.CoreV1.ListNamespacedEventAsync(TestCluster.Namespace)).Items.Any(e => e.Reason == SchedulingPolicy.RefusedReason && e.InvolvedObject.Name == name && e.Type == "Warning"),
                Timeout, $"the {SchedulingPolicy.RefusedReason} event of {name}");
        }

        var pod = await WaitForPodAsync(cluster, "fine-run-1");
        Assert.Equal("training", pod.Spec.PriorityClassName);
        Assert.Equal(["fine-run-1"], (await cluster.PodsAsync()).Select(p => p.Metadata.Name));
    }

    [Fact]
    public async Task An_operator_restarted_mid_job_creates_no_duplicate_pod()
    {
        await using var cluster = await Start();
        var first = cluster.StartOperator();
        await cluster.CreateJobAsync(JobKind.FineTune, "pets", Spec());
        await cluster.WaitForJobAsync(JobKind.FineTune, "pets", s => s.PodName == "pets-run-1", Timeout, "the first pod");
        Assert.Equal(0, await first.StopAsync());

        // Lose the status write as a crash between creating the pod and writing the status would.
        await cluster.Admin.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch("{\"status\":{\"podName\":null,\"phase\":null}}", V1Patch.PatchType.MergePatch),
            ApiInfo.Group, ApiInfo.Version, TestCluster.Namespace, JobKind.FineTune.Plural, "pets");
        var podCreatesBefore = cluster.Server.Requests.Count("create", "pods");

        await using var second = cluster.StartOperator(TestCluster.Settings("op-1"));
        await cluster.WaitForJobAsync(JobKind.FineTune, "pets", s => s.PodName == "pets-run-1", Timeout, "the status to name the existing pod");
        Assert.Equal(["pets-run-1"], (await cluster.PodsAsync()).Select(p => p.Metadata.Name));
        Assert.Equal(podCreatesBefore, cluster.Server.Requests.Count("create", "pods"));
    }

    [Fact]
    public async Task The_operator_process_killed_mid_burst_and_started_again_leaves_exactly_one_pod_per_job()
    {
        await using var cluster = await Start();
        var dir = Directory.CreateTempSubdirectory("bit-op-kill-").FullName;
        var kubeconfig = cluster.Server.WriteKubeconfig(Path.Combine(dir, "kubeconfig"));
        var dll = Path.Combine(AppContext.BaseDirectory, "bit-operator.dll");
        var args = $"{dll} run --kubeconfig {kubeconfig} --namespace {TestCluster.Namespace} --leader-elect false --metrics-port 0 --trainer-image {TestCluster.TrainerImage} --parallelism 2";
        const int jobs = 30;
        for (var i = 0; i < jobs; i++)
        {
            await cluster.CreateJobAsync(JobKind.FineTune, $"burst-{i:D2}", Spec());
        }

        using (var first = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", args) { RedirectStandardOutput = true, RedirectStandardError = true })!)
        {
            _ = first.StandardOutput.ReadToEndAsync();
            _ = first.StandardError.ReadToEndAsync();
            await TestCluster.WaitUntilAsync(() => Task.FromResult(cluster.Server.Requests.Count("create", "pods") >= 3), Timeout, "the first pods");
            first.Kill(entireProcessTree: true); // SIGKILL: no graceful anything
            await first.WaitForExitAsync();
        }

        var createdBeforeRestart = (await cluster.PodsAsync()).Count;
        Assert.InRange(createdBeforeRestart, 3, jobs);
        using var second = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        _ = second.StandardOutput.ReadToEndAsync();
        _ = second.StandardError.ReadToEndAsync();
        try
        {
            for (var i = 0; i < jobs; i++)
            {
                await cluster.WaitForJobAsync(JobKind.FineTune, $"burst-{i:D2}", s => s.PodName is not null, TimeSpan.FromSeconds(60), $"burst-{i:D2}'s pod");
            }

            await Task.Delay(1000);
            var pods = await cluster.PodsAsync();
            Assert.Equal(jobs, pods.Count);
            Assert.All(pods, p => Assert.EndsWith("-run-1", p.Metadata.Name, StringComparison.Ordinal));
        }
        finally
        {
            second.Kill(entireProcessTree: true);
            await second.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task A_pod_evicted_is_restarted_as_the_next_attempt_with_the_reason_recorded()
    {
        await using var cluster = await Start();
        await using var op = cluster.StartOperator();
        var spec = Spec();
        spec["runPolicy"] = new JsonObject { ["backoffSeconds"] = 1 };
        await cluster.CreateJobAsync(JobKind.FineTune, "pets", spec);
        await WaitForPodAsync(cluster, "pets-run-1");
        await cluster.Admin.CoreV1.PatchNamespacedPodStatusAsync(
            new V1Patch("""{"status":{"phase":"Failed","reason":"Evicted","message":"The node was low on memory."}}""", V1Patch.PatchType.MergePatch),
            "pets-run-1", TestCluster.Namespace);
        var status = await cluster.WaitForJobAsync(JobKind.FineTune, "pets", s => s.PodName == "pets-run-2", Timeout, "the second attempt");
        Assert.Equal(1, status.Restarts);
        Assert.Equal("Evicted", status.RestartHistory!.Single().Reason);
        await TestCluster.WaitUntilAsync(async () => (await cluster.PodsAsync()).Select(p => p.Metadata.Name).SequenceEqual(["pets-run-2"]), Timeout, "the evicted pod to be cleaned up");
    }

    [Fact]
    public async Task Deleting_a_job_deletes_everything_it_owns()
    {
        await using var cluster = await Start();
        await using var op = cluster.StartOperator();
        await cluster.CreateJobAsync(JobKind.FineTune, "pets", Spec());
        await WaitForPodAsync(cluster, "pets-run-1");
        await cluster.Admin.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiInfo.Group, ApiInfo.Version, TestCluster.Namespace, JobKind.FineTune.Plural, "pets");
        await TestCluster.WaitUntilAsync(async () =>
            (await cluster.PodsAsync()).Count == 0
            && (await cluster.Admin.CoreV1.ListNamespacedConfigMapAsync(TestCluster.Namespace)).Items.All(c => !c.Metadata.Name.StartsWith("pets-", StringComparison.Ordinal))
            && (await cluster.Admin.CoreV1.ListNamespacedServiceAccountAsync(TestCluster.Namespace)).Items.All(c => c.Metadata.Name != "pets-trainer")
            && (await cluster.Admin.RbacAuthorizationV1.ListNamespacedRoleAsync(TestCluster.Namespace)).Items.All(c => c.Metadata.Name != "pets-trainer")
            && (await cluster.Admin.RbacAuthorizationV1.ListNamespacedRoleBindingAsync(TestCluster.Namespace)).Items.All(c => c.Metadata.Name != "pets-trainer"),
            Timeout, "garbage collection of the job's objects");
    }

    [Fact]
    public async Task Two_replicas_elect_one_leader_and_the_standby_takes_over()
    {
        await using var cluster = await Start();
        await cluster.Admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "ops" } });
        OperatorSettings Replica(string id) => TestCluster.Settings(id) with
        {
            LeaderElection = new LeaderElectionSettings("ops", "bit-operator-leader", TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(300)),
        };
        var a = cluster.StartOperator(Replica("a"));
        var b = cluster.StartOperator(Replica("b"));
        await TestCluster.WaitUntilAsync(() => Task.FromResult(a.Host.IsLeader || b.Host.IsLeader), Timeout, "a leader");
        await Task.Delay(1000);
        Assert.True(a.Host.IsLeader ^ b.Host.IsLeader, "exactly one leader");
        var (leader, standby) = a.Host.IsLeader ? (a, b) : (b, a);
        Assert.Null(standby.Host.Controller);

        await cluster.CreateJobAsync(JobKind.FineTune, "one", Spec());
        await cluster.WaitForJobAsync(JobKind.FineTune, "one", s => s.PodName == "one-run-1", Timeout, "the leader to start the first job");

        Assert.Equal(0, await leader.StopAsync());
        await TestCluster.WaitUntilAsync(() => Task.FromResult(standby.Host.IsLeader), Timeout, "the standby to take over");
        await cluster.CreateJobAsync(JobKind.FineTune, "two", Spec());
        await cluster.WaitForJobAsync(JobKind.FineTune, "two", s => s.PodName == "two-run-1", Timeout, "the new leader to start the second job");
        Assert.Equal(2, (await cluster.PodsAsync()).Count);
        var lease = await cluster.Admin.CoordinationV1.ReadNamespacedLeaseAsync("bit-operator-leader", "ops");
        Assert.Equal(standby == a ? "a" : "b", lease.Spec.HolderIdentity);
    }

    [Fact]
    public async Task A_fine_tune_job_waits_for_its_pretrain_job_and_then_mounts_its_output()
    {
        await using var cluster = await Start();
        await using var op = cluster.StartOperator();
        var upSpec = Spec();
        upSpec["checkpoint"] = new JsonObject { ["everySteps"] = 5, ["volume"] = new JsonObject { ["storageClassName"] = "standard", ["size"] = "1Gi" } };
        upSpec["hyperparameters"] = new JsonObject { ["batchSize"] = 32, ["epochs"] = 1, ["cropSize"] = 28 };
        var ftSpec = Spec();
        ftSpec["model"]!["weights"] = new JsonObject { ["fromPretrainJob"] = new JsonObject { ["name"] = "upstream" } };
        await cluster.CreateJobAsync(JobKind.FineTune, "downstream", ftSpec);
        await cluster.CreateJobAsync(JobKind.Pretrain, "upstream", upSpec);
        var waiting = await cluster.WaitForJobAsync(JobKind.FineTune, "downstream", s => s.FindCondition(ConditionTypes.Running)?.Reason == "WaitingForPretrainJob", Timeout, "the fine-tune job to wait");
        Assert.Null(waiting.PodName);
        await WaitForPodAsync(cluster, "upstream-run-1");
        await cluster.Admin.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("upstream-checkpoints", TestCluster.Namespace);

        // The upstream trainer reports its model and exits 0.
        await cluster.Admin.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch("""{"status":{"result":{"modelPath":"/checkpoints/final/model.npz"}}}""", V1Patch.PatchType.MergePatch),
            ApiInfo.Group, ApiInfo.Version, TestCluster.Namespace, JobKind.Pretrain.Plural, "upstream");
        await cluster.Admin.CoreV1.PatchNamespacedPodStatusAsync(
            new V1Patch("""{"status":{"phase":"Succeeded","containerStatuses":[{"name":"trainer","image":"bit-trainer:e2e","imageID":"","ready":false,"restartCount":0,"state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}}""", V1Patch.PatchType.MergePatch),
            "upstream-run-1", TestCluster.Namespace);
        await cluster.WaitForJobAsync(JobKind.Pretrain, "upstream", s => s.Phase == JobPhase.Succeeded, Timeout, "the pretrain job to succeed");
        await cluster.WaitForJobAsync(JobKind.FineTune, "downstream", s => s.PodName == "downstream-run-1", Timeout, "the fine-tune job to start");
        var pod = await WaitForPodAsync(cluster, "downstream-run-1");
        var volume = pod.Spec.Volumes.Single(v => v.Name == "pretrained");
        Assert.Equal("upstream-checkpoints", volume.PersistentVolumeClaim.ClaimName);
        Assert.True(volume.PersistentVolumeClaim.ReadOnlyProperty);
        var cm = (await cluster.Admin.CoreV1.ListNamespacedConfigMapAsync(TestCluster.Namespace)).Items.Single(c => c.Metadata.Name.StartsWith("downstream-plan-", StringComparison.Ordinal));
        Assert.Contains("/pretrained/final/model.npz", cm.Data["plan.json"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gang_asking_for_a_pod_group_gets_one_where_the_api_is_served_and_an_event_where_it_is_not()
    {
        await using var cluster = await Start();
        await using var op = cluster.StartOperator();
        var spec = Spec();
        spec["resources"] = new JsonObject { ["workers"] = 2, ["podGroup"] = "Volcano", ["schedulerName"] = "volcano" };
        await cluster.CreateJobAsync(JobKind.FineTune, "novolcano", spec);
        await TestCluster.WaitUntilAsync(async () =>
            (await cluster.Admin.CoreV1.ListNamespacedEventAsync(TestCluster.Namespace)).Items.Any(e => e.Reason == "PodGroupUnavailable" && e.InvolvedObject.Name == "novolcano"),
            Timeout, "the PodGroupUnavailable event");
        // The pods are made all the same; they wait (no scheduler), and the job says so.
        var pod = await WaitForPodAsync(cluster, "novolcano-run-1-1");
        Assert.Equal("volcano", pod.Spec.SchedulerName);
        Assert.Equal("novolcano-run-1", pod.Metadata.Annotations["scheduling.k8s.io/group-name"]);
        await WaitForPodAsync(cluster, "novolcano-run-1-0");
        await cluster.Admin.CoreV1.ReadNamespacedServiceAsync("novolcano-workers", TestCluster.Namespace);
        var status = await cluster.WaitForJobAsync(JobKind.FineTune, "novolcano", s => s.PodName == "novolcano-run-1-0", Timeout, "the gang named");
        Assert.Equal(JobPhase.Pending, status.Phase);

        // With the API served (a stand-in CRD for Volcano's PodGroup), the next job's group is made, owned by its job.
        await cluster.Admin.ApiextensionsV1.CreateCustomResourceDefinitionAsync(new V1CustomResourceDefinition
        {
            Metadata = new V1ObjectMeta { Name = "podgroups.scheduling.volcano.sh" },
            Spec = new V1CustomResourceDefinitionSpec
            {
                Group = "scheduling.volcano.sh",
                Scope = "Namespaced",
                Names = new V1CustomResourceDefinitionNames { Plural = "podgroups", Singular = "podgroup", Kind = "PodGroup" },
                Versions =
                [
                    new V1CustomResourceDefinitionVersion
                    {
                        Name = "v1beta1", Served = true, Storage = true,
                        Schema = new V1CustomResourceValidation { OpenAPIV3Schema = new V1JSONSchemaProps { Type = "object", XKubernetesPreserveUnknownFields = true } },
                    },
                ],
            },
        });
        await TestCluster.WaitUntilAsync(async () =>
        {
            try
            {
                await cluster.Admin.CustomObjects.ListNamespacedCustomObjectAsync("scheduling.volcano.sh", "v1beta1", TestCluster.Namespace, "podgroups");
                return true;
            }
            catch (k8s.Autorest.HttpOperationException)
            {
                return false;
            }
        }, Timeout, "the PodGroup API to be served");
        spec = Spec();
        spec["resources"] = new JsonObject { ["workers"] = 2, ["podGroup"] = "Volcano", ["schedulerName"] = "volcano" };
        await cluster.CreateJobAsync(JobKind.FineTune, "withvolcano", spec);
        await WaitForPodAsync(cluster, "withvolcano-run-1-1");
        var group = System.Text.Json.JsonSerializer.SerializeToNode(await cluster.Admin.CustomObjects.GetNamespacedCustomObjectAsync(
            "scheduling.volcano.sh", "v1beta1", TestCluster.Namespace, "podgroups", "withvolcano-run-1"))!;
        Assert.Equal(2, (int)group["spec"]!["minMember"]!);
        Assert.Equal("withvolcano", (string?)group["metadata"]!["ownerReferences"]![0]!["name"]);
    }
}
