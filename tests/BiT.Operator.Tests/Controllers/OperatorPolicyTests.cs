using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Contracts.Pods;
using BiT.Operator.Controllers;
using static BiT.Operator.Tests.Controllers.JobFixtures;

namespace BiT.Operator.Tests.Controllers;

/// <summary>The operator's scheduling policy (priority classes, toleration keys) and the weights policy on trainer pods.</summary>
public sealed class OperatorPolicyTests
{
    private static ReconcileDecision First(JsonObject spec, ControllerOptions options) =>
        new JobReconciler(options, new FakePlanner()).Reconcile(new ReconcileInput(JobKind.FineTune, Job(spec), [], null, T0));

    private static JsonObject WithScheduling(string? priorityClass, params string?[] tolerationKeys)
    {
        var spec = Spec();
        var resources = new JsonObject();
        if (priorityClass is not null)
        {
            resources["priorityClassName"] = priorityClass;
        }

        if (tolerationKeys.Length > 0)
        {
            resources["tolerations"] = new JsonArray([.. tolerationKeys.Select(k => (JsonNode)(k is null
                ? new JsonObject { ["operator"] = "Exists" }
                : new JsonObject { ["key"] = k, ["operator"] = "Exists", ["effect"] = "NoSchedule" }))]);
        }

        spec["resources"] = resources;
        return spec;
    }

    public static TheoryData<string?, string[], string[], string?, bool> Cases() => new()
    {
        // priority class, its allow-list, the toleration allow-list, a toleration key, allowed?
        { "system-node-critical", [], [], "nvidia.com/gpu", false },
        { "system-cluster-critical", [], [], "nvidia.com/gpu", false },
        { "training", [], [], "nvidia.com/gpu", true },
        { "training", ["batch-*"], [], "nvidia.com/gpu", false },
        { "batch-low", ["batch-*"], [], "nvidia.com/gpu", true },
        { "system-node-critical", ["system-node-critical"], [], "nvidia.com/gpu", true },
        { null, [], [], "node-role.kubernetes.io/control-plane", false },
        { null, [], [], null, false },
        { null, [], ["nvidia.com/*"], "dedicated", false },
        { null, [], ["nvidia.com/*"], "nvidia.com/gpu", true },
        { null, [], ["*"], null, true },
        { null, [], ["*"], "node-role.kubernetes.io/control-plane", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_job_outside_the_scheduling_policy_is_refused_with_a_condition_an_event_and_no_pod(
        string? priorityClass, string[] allowedClasses, string[] allowedKeys, string? tolerationKey, bool allowed)
    {
        var options = Options with { Scheduling = new SchedulingPolicy { AllowedPriorityClasses = allowedClasses, AllowedTolerationKeys = allowedKeys } };
        var d = First(WithScheduling(priorityClass, tolerationKey), options);
        if (allowed)
        {
            var pod = Assert.Single(d.Actions.OfType<CreatePod>()).Pod;
            Assert.Equal(priorityClass, pod.Spec.PriorityClassName);
            Assert.Equal(tolerationKey, pod.Spec.Tolerations.Single().Key);
            Assert.Equal("True", d.Status.FindCondition(ConditionTypes.Validated)!.Status);
            return;
        }

        Assert.Empty(d.Actions.OfType<CreatePod>());
        var validated = d.Status.FindCondition(ConditionTypes.Validated)!;
        Assert.Equal(("False", SchedulingPolicy.RefusedReason), (validated.Status, validated.Reason));
        Assert.Contains("not allowed by the operator's policy", validated.Message, StringComparison.Ordinal);
        Assert.Contains(priorityClass is not null && !allowedClasses.Contains(priorityClass) ? "spec.resources.priorityClassName" : "spec.resources.tolerations[0].key", validated.Message, StringComparison.Ordinal);
        Assert.Equal(JobPhase.Failed, d.Status.Phase);
        var e = Assert.Single(d.Actions.OfType<RecordEvent>());
        Assert.Equal((RecordEvent.Warning, SchedulingPolicy.RefusedReason), (e.Type, e.Reason));
    }

    [Fact]
    public void Every_refused_toleration_is_named_and_a_spec_error_besides_makes_the_reason_InvalidSpec()
    {
        var d = First(WithScheduling("system-node-critical", "ok.example/a", "node-role.kubernetes.io/master", null), Options);
        var message = d.Status.FindCondition(ConditionTypes.Validated)!.Message;
        Assert.Contains("priority class 'system-node-critical'", message, StringComparison.Ordinal);
        Assert.DoesNotContain("tolerations[0]", message, StringComparison.Ordinal);
        Assert.Contains("spec.resources.tolerations[1].key", message, StringComparison.Ordinal);
        Assert.Contains("spec.resources.tolerations[2].key", message, StringComparison.Ordinal);
        Assert.Contains("an empty key (tolerates every taint)", message, StringComparison.Ordinal);

        var spec = WithScheduling("system-node-critical");
        spec["image"] = "evil.example/miner:1";
        var both = First(spec, Options);
        Assert.Equal(JobReconciler.InvalidSpecReason, both.Status.FindCondition(ConditionTypes.Validated)!.Reason);
        Assert.Contains("spec.image", both.Status.FindCondition(ConditionTypes.Validated)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trainer_pods_carry_the_weights_policy_and_the_strict_one_by_default()
    {
        var strict = Assert.Single(First(Spec(), Options).Actions.OfType<CreatePod>()).Pod.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal("false", strict[TrainerEnv.WeightsAllowHttp]);
        Assert.Equal("false", strict[TrainerEnv.WeightsAllowPrivateNetworks]);
        Assert.Equal("", strict[TrainerEnv.WeightsPrivateHosts]);
        Assert.Equal("8589934592", strict[TrainerEnv.WeightsMaxBytes]);

        var options = Options with
        {
            Weights = new WeightsPolicy { AllowHttp = true, AllowPrivateNetworks = false, PrivateHosts = ["mirror.internal", "10.0.0.7"], MaxBytes = 1L << 30 },
        };
        var env = Assert.Single(First(Spec(), options).Actions.OfType<CreatePod>()).Pod.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
        Assert.Equal("true", env["BIT_WEIGHTS_ALLOW_HTTP"]);
        Assert.Equal("false", env["BIT_WEIGHTS_ALLOW_PRIVATE_NETWORKS"]);
        Assert.Equal("mirror.internal,10.0.0.7", env["BIT_WEIGHTS_PRIVATE_HOSTS"]);
        Assert.Equal("1073741824", env["BIT_WEIGHTS_MAX_BYTES"]);

    }

    [Fact]
    public void A_jobs_pod_template_cannot_loosen_the_weights_policy()
    {
        var spec = Spec();
        spec["podTemplate"] = JsonNode.Parse("""
            {"env": [{"name": "BIT_WEIGHTS_ALLOW_HTTP", "value": "true"}, {"name": "BIT_WEIGHTS_MAX_BYTES", "value": "999999999999"}],
             "envFrom": [{"secretRef": {"name": "loosen"}}]}
            """);
        var env = Assert.Single(First(spec, Options).Actions.OfType<CreatePod>()).Pod.Spec.Containers[0].Env;
        // Set once each, by the operator: env wins over envFrom, so the Secret cannot override them either.
        Assert.Equal(["false"], env.Where(e => e.Name == TrainerEnv.WeightsAllowHttp).Select(e => e.Value));
        Assert.Equal(["8589934592"], env.Where(e => e.Name == TrainerEnv.WeightsMaxBytes).Select(e => e.Value));
        Assert.Equal(["false"], env.Where(e => e.Name == TrainerEnv.WeightsAllowPrivateNetworks).Select(e => e.Value));
        Assert.Equal([""], env.Where(e => e.Name == TrainerEnv.WeightsPrivateHosts).Select(e => e.Value));
    }
}
