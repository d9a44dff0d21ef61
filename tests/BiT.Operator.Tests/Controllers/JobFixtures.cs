using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts.Api;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using k8s.Models;

namespace BiT.Operator.Tests.Controllers;

/// <summary>Builds jobs and pods for reconciler tables, and replays what the API server would do with a decision.</summary>
internal static class JobFixtures
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    public static ControllerOptions Options { get; } = new() { TrainerImage = "trainer:1", AllowedImages = ["registry.local/bit/*"] };

    public static JsonObject Spec() => new()
    {
        ["model"] = new JsonObject { ["architecture"] = "R50x1" },
        ["dataset"] = new JsonObject { ["format"] = "ImageFolder", ["path"] = "/data/pets", ["numClasses"] = 37 },
        ["checkpoint"] = new JsonObject { ["everySteps"] = 10, ["volume"] = new JsonObject { ["claimName"] = "pets-ckpt" } },
        ["runPolicy"] = new JsonObject { ["maxRestarts"] = 3, ["backoffSeconds"] = 10, ["stallTimeout"] = "2m" },
    };

    public static JobObject Job(JsonObject? spec = null, string name = "pets", string kind = "BiTFineTuneJob", long generation = 1) => new()
    {
        Kind = kind,
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = "ml",
            Uid = "uid-" + name,
            Generation = generation,
            CreationTimestamp = T0.UtcDateTime,
        },
        Spec = JsonSerializer.SerializeToElement(spec ?? Spec()),
    };

    /// <summary>What the API server does with a status merge patch.</summary>
    public static JobObject WithStatusPatch(JobObject job, JsonObject? patch)
    {
        if (patch is null)
        {
            return job;
        }

        var status = job.Status is { } s ? JsonNode.Parse(s.GetRawText())!.AsObject() : new JsonObject();
        foreach (var (k, v) in patch)
        {
            if (v is null)
            {
                status.Remove(k);
            }
            else
            {
                status[k] = v.DeepClone();
            }
        }

        return new JobObject { Kind = job.Kind, Metadata = job.Metadata, Spec = job.Spec, Status = JsonSerializer.SerializeToElement(status) };
    }

    /// <summary>What the trainer does: patch progress and checkpoint.</summary>
    public static JobObject WithTrainerStatus(JobObject job, long step, DateTimeOffset progressTime, long? checkpointStep = null)
    {
        var patch = new JsonObject
        {
            ["progress"] = new JsonObject { ["step"] = step, ["totalSteps"] = 100, ["lastProgressTime"] = KubeTimeJsonConverter.ToWire(progressTime) },
        };
        if (checkpointStep is { } c)
        {
            patch["checkpoint"] = new JsonObject { ["step"] = c, ["path"] = $"/checkpoints/step-{c}.ckpt" };
        }

        return WithStatusPatch(job, patch);
    }

    public static V1Pod Pod(string name, string phase, DateTimeOffset? started = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "ml", Uid = "pod-" + name },
        Status = new V1PodStatus
        {
            Phase = phase,
            StartTime = started?.UtcDateTime,
            ContainerStatuses = phase == "Running"
                ? [new V1ContainerStatus { Name = "trainer", State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = (started ?? T0).UtcDateTime } } }]
                : null,
        },
    };

    public static V1Pod Ended(string name, int exitCode, string message = "", string? reason = null, string? podReason = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "ml", Uid = "pod-" + name },
        Status = new V1PodStatus
        {
            Phase = exitCode == 0 ? "Succeeded" : "Failed",
            Reason = podReason,
            ContainerStatuses =
            [
                new V1ContainerStatus
                {
                    Name = "trainer",
                    State = new V1ContainerState
                    {
                        Terminated = new V1ContainerStateTerminated { ExitCode = exitCode, Message = message, Reason = reason ?? (exitCode == 0 ? "Completed" : "Error") },
                    },
                },
            ],
        },
    };
}

/// <summary>A planner standing in for the contracts: echoes a few hyperparameters and rejects numClasses below 2.</summary>
internal sealed class FakePlanner : IJobPlanner
{
    public List<PlanContext> Contexts { get; } = [];

    public (PlannedJob? Plan, IReadOnlyList<FieldError> Errors) Plan(JobView job, PlanContext context)
    {
        Contexts.Add(context);
        var numClasses = job.Job!.Spec.Dataset!.NumClasses;
        if (numClasses < 2)
        {
            return (null, [new FieldError("spec.dataset.numClasses", "must be at least 2")]);
        }

        var hp = new ResolvedHyperparameters { Rule = "HyperRule", BatchSize = 512, TotalSteps = 500, BaseLearningRate = 0.003 };
        var plan = new JsonObject { ["name"] = context.Name, ["hyperparameters"] = JsonSerializer.SerializeToNode(hp, BiTJson.Options), ["weights"] = context.PretrainedWeightsPath };
        return (new PlannedJob(plan.ToJsonString(), hp, "abcdef0123456789"), []);
    }
}
