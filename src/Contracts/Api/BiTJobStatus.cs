using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>
/// Observed state of a job. The operator writes every field but <c>progress</c> and <c>checkpoint</c>, which the
/// trainer reports; <c>result</c> is the trainer's when it wrote one, else the operator fills it in from the pod's
/// last words. Each side writes with a JSON merge patch of only its own fields (<see cref="MergePatch"/>).
/// </summary>
[Field("Observed state of the job.")]
public sealed record BiTJobStatus
{
    /// <summary>Most restart records kept in <see cref="RestartHistory"/>.</summary>
    public const int MaxRestartHistory = 20;

    /// <summary>The fields the operator writes: a merge patch of only these leaves the trainer's alone.</summary>
    public static IReadOnlyList<string> OperatorFields { get; } =
    [
        "phase", "observedGeneration", "conditions", "hyperparameters", "planHash", "restarts", "restartHistory", "podName",
        "workers", "worldSize", "startTime", "completionTime", "result",
    ];

    /// <summary>The fields the trainer writes through the status subresource (result only when it finishes).</summary>
    public static IReadOnlyList<string> TrainerFields { get; } = ["progress", "checkpoint", "resumed", "result"];

    /// <summary>Summary phase.</summary>
    [Field("Summary for the Phase column.")]
    public JobPhase? Phase { get; init; }

    /// <summary>metadata.generation last acted on.</summary>
    [Field("metadata.generation the operator last acted on.", Minimum = 0)]
    public long? ObservedGeneration { get; init; }

    /// <summary>Conditions.</summary>
    [Field("Validated, Running, Stalled, Restarting, Suspended, Succeeded, Failed, ResourcesReleased, and the summaries Ready (kubectl wait) and Reconciling (kstatus, with Stalled).", MaxItems = 16, ListMapKey = "type")]
    public IReadOnlyList<Condition>? Conditions { get; init; }

    /// <summary>The resolved hyperparameters.</summary>
    [Field("The resolved hyperparameters: every value the trainer uses.")]
    public ResolvedHyperparameters? Hyperparameters { get; init; }

    /// <summary>Hash of the resolved plan.</summary>
    [Field("SHA-256 of the resolved plan's result-affecting fields.")]
    public string? PlanHash { get; init; }

    /// <summary>Training progress.</summary>
    [Field("Training progress, reported by the trainer.")]
    public ProgressStatus? Progress { get; init; }

    /// <summary>Latest checkpoint.</summary>
    [Field("The latest checkpoint.")]
    public CheckpointStatus? Checkpoint { get; init; }

    /// <summary>The checkpoint the current pod's trainer restored (reported by the trainer when it starts).</summary>
    [Field("The checkpoint step the named pod's trainer resumed from (0: from the start), reported by the trainer.")]
    public ResumeStatus? Resumed { get; init; }

    /// <summary>Restarts so far.</summary>
    [Field("Restarts so far.", Minimum = 0)]
    public int? Restarts { get; init; }

    /// <summary>The latest restarts, oldest first, at most <see cref="MaxRestartHistory"/>.</summary>
    [Field("The latest restarts, oldest first (bounded).", MaxItems = MaxRestartHistory)]
    public IReadOnlyList<RestartRecord>? RestartHistory { get; init; }

    /// <summary>The current or last trainer pod.</summary>
    [Field("The current or last trainer pod.")]
    public string? PodName { get; init; }

    /// <summary>Pods of the current attempt that run, and all pods of a gang.</summary>
    [Field("Pods (workers) of the current attempt that are running, of all the job's workers.")]
    public WorkersStatus? Workers { get; init; }

    /// <summary>Ranks of the job.</summary>
    [Field("Ranks (processes) of the job: workers x processes per pod.", Minimum = 1)]
    public int? WorldSize { get; init; }

    /// <summary>When the first pod started.</summary>
    [JsonConverter(typeof(KubeTimeJsonConverter))]
    [Field("When training first started.", Format = "date-time")]
    public DateTimeOffset? StartTime { get; init; }

    /// <summary>When the job finished.</summary>
    [JsonConverter(typeof(KubeTimeJsonConverter))]
    [Field("When the job succeeded or failed.", Format = "date-time")]
    public DateTimeOffset? CompletionTime { get; init; }

    /// <summary>Final metrics.</summary>
    [Field("Final metrics and model location, patched by the trainer when it finishes (else taken from its last words by the operator).")]
    public ResultStatus? Result { get; init; }

    /// <summary>The condition of a type, or null (<see cref="ConditionRules.Find"/>).</summary>
    public Condition? FindCondition(string type) => ConditionRules.Find(Conditions, type);

    /// <summary>True when the condition of that type has status True.</summary>
    public bool IsConditionTrue(string type) => ConditionRules.IsTrue(Conditions, type);

    /// <summary>
    /// Reads a status as the API server returns it. A field that does not fit its type (which the schema should
    /// have refused) is dropped rather than failing the whole status, so one bad value never hides the rest.
    /// </summary>
    public static BiTJobStatus FromJson(JsonElement? status)
    {
        if (status is not { ValueKind: JsonValueKind.Object } s)
        {
            return new BiTJobStatus();
        }

        try
        {
            return s.Deserialize<BiTJobStatus>(BiTJson.Options) ?? new BiTJobStatus();
        }
        catch (JsonException)
        {
            var kept = new JsonObject();
            foreach (var property in s.EnumerateObject())
            {
                var one = new JsonObject { [property.Name] = JsonNode.Parse(property.Value.GetRawText()) };
                try
                {
                    one.Deserialize<BiTJobStatus>(BiTJson.Options);
                    kept[property.Name] = one[property.Name]!.DeepClone();
                }
                catch (JsonException)
                {
                    // Dropped: not of its schema type.
                }
            }

            return kept.Deserialize<BiTJobStatus>(BiTJson.Options) ?? new BiTJobStatus();
        }
    }

    /// <summary>The status as API JSON (nulls left out, times as whole-second UTC).</summary>
    public JsonObject ToJsonObject() => JsonSerializer.SerializeToNode(this, BiTJson.Options)!.AsObject();

    /// <summary>
    /// The JSON merge patch that turns <paramref name="old"/>'s <paramref name="fields"/> into
    /// <paramref name="updated"/>'s, or null when they are the same. Both sides are compared in their wire form,
    /// so a time written with another offset or fraction, or a list rebuilt with equal items, is no change; a field
    /// that became absent is sent as null (removed). Fields not named are never in the patch.
    /// </summary>
    public static JsonObject? MergePatch(BiTJobStatus old, BiTJobStatus updated, IEnumerable<string> fields)
    {
        ArgumentNullException.ThrowIfNull(old);
        ArgumentNullException.ThrowIfNull(updated);
        ArgumentNullException.ThrowIfNull(fields);
        var before = old.ToJsonObject();
        var after = updated.ToJsonObject();
        var patch = new JsonObject();
        foreach (var field in fields)
        {
            var a = before[field];
            var b = after[field];
            if (!JsonNode.DeepEquals(a, b))
            {
                patch[field] = b?.DeepClone();
            }
        }

        return patch.Count == 0 ? null : patch;
    }
}

/// <summary>Training progress.</summary>
[Field("Training progress.")]
public sealed record ProgressStatus
{
    /// <summary>Optimizer steps done.</summary>
    [Field("Optimizer steps done.", Minimum = 0)]
    public int Step { get; init; }

    /// <summary>Steps of the whole run.</summary>
    [Field("Optimizer steps of the run.", Minimum = 0)]
    public int TotalSteps { get; init; }

    /// <summary>"step/total" for the Progress column.</summary>
    [Field("step/totalSteps, for the Progress column.")]
    public string? Display { get; init; }

    /// <summary>Epochs done (fractional).</summary>
    [Field("Epochs done.")]
    public double? Epoch { get; init; }

    /// <summary>Latest training loss.</summary>
    [Field("Latest training loss.")]
    public double? Loss { get; init; }

    /// <summary>Throughput.</summary>
    [Field("Training throughput.")]
    public double? ImagesPerSecond { get; init; }

    /// <summary>When the step last advanced.</summary>
    [JsonConverter(typeof(KubeTimeJsonConverter))]
    [Field("When the step last advanced.", Format = "date-time")]
    public DateTimeOffset? LastProgressTime { get; init; }

    /// <summary>Estimated time left.</summary>
    [Field("Estimated time left.")]
    public GoDuration? Eta { get; init; }

    /// <summary>The Progress column's text: "120/500".</summary>
    public static string FormatDisplay(int step, int totalSteps) =>
        string.Create(CultureInfo.InvariantCulture, $"{step}/{totalSteps}");

    /// <summary>A progress record with <see cref="Display"/> filled in.</summary>
    public static ProgressStatus Create(int step, int totalSteps) =>
        new() { Step = step, TotalSteps = totalSteps, Display = FormatDisplay(step, totalSteps) };
}

/// <summary>Workers ready of total.</summary>
[Field("Workers running of the total.")]
public sealed record WorkersStatus
{
    /// <summary>Pods of the current attempt in phase Running.</summary>
    [Field("Pods of the current attempt that are running.", Minimum = 0)]
    public int Ready { get; init; }

    /// <summary>spec.resources.workers.</summary>
    [Field("Pods of the job (spec.resources.workers).", Minimum = 1)]
    public int Total { get; init; }

    /// <summary>"ready/total" for the Workers column.</summary>
    [Field("ready/total, for the Workers column.")]
    public string? Display { get; init; }

    /// <summary>A record with <see cref="Display"/> filled in.</summary>
    public static WorkersStatus Create(int ready, int total) =>
        new() { Ready = ready, Total = total, Display = string.Create(CultureInfo.InvariantCulture, $"{ready}/{total}") };
}

/// <summary>The latest checkpoint.</summary>
[Field("The latest checkpoint.")]
public sealed record CheckpointStatus
{
    /// <summary>Step of the checkpoint.</summary>
    [Field("Step of the checkpoint.", Minimum = 0)]
    public int Step { get; init; }

    /// <summary>Its path in the trainer's file system.</summary>
    [Field("Path of the checkpoint file.")]
    public string? Path { get; init; }

    /// <summary>When it was written.</summary>
    [JsonConverter(typeof(KubeTimeJsonConverter))]
    [Field("When it was written.", Format = "date-time")]
    public DateTimeOffset? Time { get; init; }
}

/// <summary>One restart.</summary>
[Field("One restart of the trainer.")]
public sealed record RestartRecord
{
    /// <summary>When the restart was decided.</summary>
    [JsonConverter(typeof(KubeTimeJsonConverter))]
    [Field("When the restart was decided.", Format = "date-time")]
    public DateTimeOffset? Time { get; init; }

    /// <summary>CamelCase reason (Evicted, OOMKilled, Preempted, Stalled, SegmentEnd, ...).</summary>
    [Field("Why: Evicted, Preempted, OOMKilled, NodeLost, Signal, Checkpointed, Stalled, SegmentEnd, ...")]
    public string? Reason { get; init; }

    /// <summary>The trainer's exit code, when it exited.</summary>
    [Field("The trainer's exit code, when it exited.")]
    public int? ExitCode { get; init; }

    /// <summary>The pod that ended.</summary>
    [Field("The pod that ended (of a gang: the first worker that ended).", MaxLength = 253)]
    public string? PodName { get; init; }

    /// <summary>Of a gang: the worker (pod index, NODE_RANK) whose end ended the attempt.</summary>
    [Field("Of a gang (workers > 1): the worker index (NODE_RANK) whose end ended the attempt.", Minimum = 0)]
    public int? Worker { get; init; }

    /// <summary>Of a gang: how each worker that had ended by then ended.</summary>
    [Field("Of a gang: how each worker that had ended by then ended, e.g. 'worker 1: OOMKilled (exit code 137)'.", MaxItems = 64)]
    public IReadOnlyList<string>? Workers { get; init; }

    /// <summary>
    /// The checkpoint step the next pod resumed from: the one its trainer reported restoring (<see cref="BiTJobStatus.Resumed"/>);
    /// until that report, the last checkpoint the ended pod reported.
    /// </summary>
    [Field("The checkpoint step the next pod resumed from, as its trainer reported it; until then the last checkpoint the ended pod reported.", Minimum = 0)]
    public int? ResumedFromStep { get; init; }
}

/// <summary>Final metrics.</summary>
[Field("Final metrics.")]
public sealed record ResultStatus
{
    /// <summary>Top-1 accuracy on the test split (0..1).</summary>
    [Field("Top-1 accuracy on the test split, 0..1.", Minimum = 0, Maximum = 1)]
    public double? Top1 { get; init; }

    /// <summary>Top-5 accuracy on the test split (0..1).</summary>
    [Field("Top-5 accuracy on the test split, 0..1.", Minimum = 0, Maximum = 1)]
    public double? Top5 { get; init; }

    /// <summary>Where the final model is.</summary>
    [Field("Path of the final model (.npz, published key layout).")]
    public string? ModelPath { get; init; }
}
