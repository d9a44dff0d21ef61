using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts.Api;
using k8s.Models;
using ContractsJob = BiT.Contracts.Api.BiTJob;

namespace BiT.Operator.Api;

/// <summary>
/// Reads a job as the API server holds it through the contracts (<see cref="BiTJson.DeserializeJob"/>, strict:
/// a wrong type is a <see cref="FieldError"/> naming the field, then <see cref="SpecValidator.ValidateSpec"/>, the
/// rules the CRD's schema states), and takes from it the part of the spec the operator itself acts on, with the
/// contracts' defaults applied.
/// </summary>
public static class JobSettingsReader
{
    /// <summary>The job as the contracts' type, or the errors that keep it from being one.</summary>
    public static (ContractsJob? Job, IReadOnlyList<FieldError> Errors) Parse(BiTJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Spec.ValueKind != JsonValueKind.Object)
        {
            return (null, [new FieldError("spec", "required: an object")]);
        }

        var json = new JsonObject
        {
            ["apiVersion"] = job.ApiVersion,
            ["kind"] = job.Kind,
            ["metadata"] = new JsonObject
            {
                ["name"] = job.Metadata.Name,
                ["namespace"] = job.Metadata.NamespaceProperty,
                ["uid"] = job.Metadata.Uid,
                ["generation"] = job.Metadata.Generation,
            },
            ["spec"] = JsonNode.Parse(job.Spec.GetRawText()),
        };
        try
        {
            return (BiTJson.DeserializeJob(json.ToJsonString()), []);
        }
        catch (ManifestException ex)
        {
            return (null, ex.Errors);
        }
    }

    /// <summary>The operator's settings, or every error of the spec (field paths start with <c>spec.</c>).</summary>
    public static (JobSettings? Settings, IReadOnlyList<FieldError> Errors) Read(BiTJob job)
    {
        var (parsed, parseErrors) = Parse(job);
        if (parsed is null)
        {
            return (null, parseErrors);
        }

        var spec = parsed.Spec;
        var errors = SpecValidator.ValidateSpec(parsed.Kind, spec).ToList();

        // Operator-only: a dataset claim is mounted at spec.dataset.path.
        if (spec.Dataset is { Volume: not null } dataset && !dataset.Path.StartsWith('/'))
        {
            errors.Add(new("spec.dataset.path", "must be an absolute path when spec.dataset.volume is given (the claim is mounted there)"));
        }

        return errors.Count > 0 ? (null, errors) : (Settings(spec), errors);
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

    private static JobSettings Settings(BiTJobSpec spec)
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
            string.IsNullOrEmpty(r?.PriorityClassName) ? null : r.PriorityClassName);

        var p = spec.RunPolicy;
        var policy = new RunPolicy(
            p?.MaxRestarts ?? RunPolicySpec.DefaultMaxRestarts,
            TimeSpan.FromSeconds(p?.BackoffSeconds ?? RunPolicySpec.DefaultBackoffSeconds),
            p?.StallTimeout?.Value ?? RunPolicySpec.DefaultStallTimeout,
            p?.OnStall ?? StallAction.Restart,
            p?.MaxSegmentDuration?.Value,
            p?.ActiveDeadlineSeconds is > 0 and var deadline ? TimeSpan.FromSeconds(deadline) : null,
            p?.TtlSecondsAfterFinished is > 0 and var ttl ? TimeSpan.FromSeconds(ttl) : null);

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
            weights?.Path);
    }
}
