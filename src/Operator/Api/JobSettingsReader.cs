using System.Text.Json;
using BiT.Contracts;
using BiT.Contracts.Api;
using k8s.Models;

namespace BiT.Operator.Api;

/// <summary>
/// Reads a job as the API server holds it through the contracts: its spec's UTF-8 JSON straight into
/// <see cref="BiTJobSpec"/> (strict: a wrong type is a <see cref="FieldError"/> naming the field), then
/// <see cref="SpecValidator.Validate"/>, the rules the CRD's schema states, plus the operator's own; and takes from it
/// the part of the spec the operator itself acts on, with the contracts' defaults applied. <see cref="JobView.Of"/>
/// calls it once per reconcile.
/// </summary>
public static class JobSettingsReader
{
    private static readonly byte[] EnvelopeStart = "{\"spec\":"u8.ToArray();

    /// <summary>The job as the contracts' type, or the errors that keep it from being one.</summary>
    public static (BiTJob? Job, IReadOnlyList<FieldError> Errors) Parse(JobKind kind, JobObject job)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(job);
        var spec = job.SpecUtf8;
        if (spec.IsEmpty || spec.Span[0] != (byte)'{')
        {
            return (null, [new FieldError("spec", "required: an object")]);
        }

        // Read as {"spec": ...} so that a wrong type is reported with its path from the object's root (spec.x.y).
        var envelope = new byte[EnvelopeStart.Length + spec.Length + 1];
        EnvelopeStart.CopyTo(envelope, 0);
        spec.Span.CopyTo(envelope.AsSpan(EnvelopeStart.Length));
        envelope[^1] = (byte)'}';
        BiTJobSpec parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<SpecEnvelope>(envelope, BiTJson.Options)?.Spec ?? new BiTJobSpec();
        }
        catch (JsonException e)
        {
            var path = string.IsNullOrEmpty(e.Path) ? "(json)" : e.Path.TrimStart('$', '.');
            return (null, [new FieldError(path, e.Message)]);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            // Only the client's quantity parser (spec.podTemplate's core/v1 types) throws these; the CRD's pattern
            // keeps malformed quantities out, so this is for an API server without the current CRD.
            return (null, [new FieldError("spec.podTemplate", $"a quantity is not valid: {e.Message}")]);
        }

        var metadata = new ObjectMeta
        {
            Name = job.Metadata.Name,
            Namespace = job.Metadata.NamespaceProperty,
            Uid = job.Metadata.Uid,
            Generation = job.Metadata.Generation,
        };
        BiTJob contractsJob = kind == JobKind.Pretrain
            ? new BiTPretrainJob { ApiVersion = job.ApiVersion, Metadata = metadata, Spec = parsed }
            : new BiTFineTuneJob { ApiVersion = job.ApiVersion, Metadata = metadata, Spec = parsed };
        return (contractsJob, []);
    }

    /// <summary>Every error of a parsed job: the contracts' rules, then the operator's own.</summary>
    public static IReadOnlyList<FieldError> Validate(BiTJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        // The contracts' rules include the pod-level ones (a dataset claim's mount path: absolute, not over a reserved path).
        return SpecValidator.Validate(job);
    }

    /// <summary>
    /// Only <c>spec.model.weights.fromPretrainJob.name</c>, without reading the rest: for finding the fine-tune jobs
    /// that wait for a pre-training job on each of its events.
    /// </summary>
    public static string? FromPretrainJob(JsonElement spec) =>
        spec.ValueKind == JsonValueKind.Object
        && spec.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object
        && model.TryGetProperty("weights", out var weights) && weights.ValueKind == JsonValueKind.Object
        && weights.TryGetProperty("fromPretrainJob", out var from) && from.ValueKind == JsonValueKind.Object
        && from.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
            ? name.GetString()
            : null;

    /// <summary>The operator's settings of a valid spec, with the contracts' defaults applied.</summary>
    public static JobSettings Settings(BiTJobSpec spec)
    {
        var r = spec.Resources;
        var resources = new ResourceSettings(
            r?.Gpus ?? 0,
            r?.Cpu,
            r?.Memory,
            r?.NodeSelector ?? new Dictionary<string, string>(),
            [.. (r?.Tolerations ?? []).Select(t => new V1Toleration
            {
                Key = t.Key,
                OperatorProperty = t.Operator,
                Value = t.Value,
                Effect = t.Effect,
                TolerationSeconds = t.TolerationSeconds,
            })],
            string.IsNullOrEmpty(r?.PriorityClassName) ? null : r.PriorityClassName,
            r?.Workers ?? 1,
            r?.ProcessesPerPod ?? 1,
            string.IsNullOrEmpty(r?.SchedulerName) ? null : r.SchedulerName,
            r?.PodGroup switch
            {
                "Coscheduling" => PodGroupKind.Coscheduling,
                "Volcano" => PodGroupKind.Volcano,
                _ => PodGroupKind.None,
            });

        var p = spec.RunPolicy;
        var policy = new RunPolicy(
            p?.MaxRestarts ?? RunPolicySpec.DefaultMaxRestarts,
            TimeSpan.FromSeconds(p?.BackoffSeconds ?? RunPolicySpec.DefaultBackoffSeconds),
            p?.StallTimeout?.Value ?? RunPolicySpec.DefaultStallTimeout,
            p?.OnStall ?? StallAction.Restart,
            p?.MaxSegmentDuration?.Value,
            p?.ActiveDeadlineSeconds is > 0 and var deadline ? TimeSpan.FromSeconds(deadline) : null,
            p?.TtlSecondsAfterFinished is > 0 and var ttl ? TimeSpan.FromSeconds(ttl) : null,
            p?.CleanupSecondsAfterFinished is > 0 and var cleanup ? TimeSpan.FromSeconds(cleanup) : null);

        var volume = spec.Checkpoint?.Volume is { } v ? new VolumeSettings(v.ClaimName, v.StorageClassName, v.Size, v.EffectiveOnDelete) : null;
        var weights = spec.Model?.Weights;
        return new JobSettings(
            spec.Image,
            spec.Suspend ?? false,
            resources,
            policy,
            volume,
            spec.Dataset?.Path,
            spec.Dataset?.Volume?.ClaimName,
            weights?.FromPretrainJob?.Name,
            weights?.Path,
            spec.PodTemplate);
    }

    private sealed record SpecEnvelope
    {
        [System.Text.Json.Serialization.JsonPropertyName("spec")]
        public BiTJobSpec? Spec { get; init; }
    }
}
