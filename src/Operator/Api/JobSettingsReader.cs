using System.Globalization;
using System.Text.Json;
using BiT.Contracts.Api;
using k8s;
using k8s.Models;

namespace BiT.Operator.Api;

/// <summary>
/// Reads the operator's part of a spec from its JSON, strictly: a wrong type or out-of-range value is a
/// <see cref="FieldError"/> naming the field. The model, dataset and hyperparameters are checked by the contracts.
/// </summary>
public static class JobSettingsReader
{
    public static (JobSettings? Settings, IReadOnlyList<FieldError> Errors) Read(JsonElement spec)
    {
        var errors = new List<FieldError>();
        if (spec.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("spec", "required: an object"));
            return (null, errors);
        }

        var image = String(spec, "image", "spec.image", errors);
        var suspend = Bool(spec, "suspend", "spec.suspend", errors) ?? false;

        var resources = ReadResources(Object(spec, "resources", "spec.resources", errors), errors);
        var policy = ReadRunPolicy(Object(spec, "runPolicy", "spec.runPolicy", errors), errors);

        VolumeSettings? checkpointVolume = null;
        if (Object(spec, "checkpoint", "spec.checkpoint", errors) is { } checkpoint
            && Object(checkpoint, "volume", "spec.checkpoint.volume", errors) is { } volume)
        {
            checkpointVolume = new VolumeSettings(
                Name(volume, "claimName", "spec.checkpoint.volume.claimName", errors),
                Name(volume, "storageClassName", "spec.checkpoint.volume.storageClassName", errors),
                Quantity(volume, "size", "spec.checkpoint.volume.size", errors));
            if (checkpointVolume.ClaimName is null && checkpointVolume.Size is null)
            {
                errors.Add(new("spec.checkpoint.volume", "needs claimName (an existing claim) or size (a claim the operator creates)"));
            }
        }

        string? datasetPath = null;
        string? datasetClaim = null;
        if (Object(spec, "dataset", "spec.dataset", errors) is { } dataset)
        {
            datasetPath = String(dataset, "path", "spec.dataset.path", errors);
            if (Object(dataset, "volume", "spec.dataset.volume", errors) is { } dv)
            {
                datasetClaim = Name(dv, "claimName", "spec.dataset.volume.claimName", errors);
                if (datasetClaim is null)
                {
                    errors.Add(new("spec.dataset.volume.claimName", "required when spec.dataset.volume is given"));
                }

                if (datasetPath is null || !datasetPath.StartsWith('/'))
                {
                    errors.Add(new("spec.dataset.path", "must be an absolute path when spec.dataset.volume is given (the claim is mounted there)"));
                }
            }
        }

        string? fromPretrain = null;
        string? weightsPath = null;
        if (Object(spec, "model", "spec.model", errors) is { } model
            && Object(model, "weights", "spec.model.weights", errors) is { } weights)
        {
            weightsPath = String(weights, "path", "spec.model.weights.path", errors);
            if (Object(weights, "fromPretrainJob", "spec.model.weights.fromPretrainJob", errors) is { } from)
            {
                fromPretrain = Name(from, "name", "spec.model.weights.fromPretrainJob.name", errors);
                if (fromPretrain is null)
                {
                    errors.Add(new("spec.model.weights.fromPretrainJob.name", "required: the BiTPretrainJob's name"));
                }
            }
        }

        return errors.Count > 0
            ? (null, errors)
            : (new JobSettings(image, suspend, resources, policy, checkpointVolume, datasetPath, datasetClaim, fromPretrain, weightsPath), errors);
    }

    private static ResourceSettings ReadResources(JsonElement? r, List<FieldError> errors)
    {
        if (r is not { } res)
        {
            return new ResourceSettings(0, null, null, new Dictionary<string, string>(), [], null);
        }

        var gpus = Int(res, "gpus", "spec.resources.gpus", errors, 0, 64) ?? 0;
        var cpu = Quantity(res, "cpu", "spec.resources.cpu", errors);
        var memory = Quantity(res, "memory", "spec.resources.memory", errors);
        var selector = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Object(res, "nodeSelector", "spec.resources.nodeSelector", errors) is { } ns)
        {
            foreach (var p in ns.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.String)
                {
                    selector[p.Name] = p.Value.GetString()!;
                }
                else
                {
                    errors.Add(new($"spec.resources.nodeSelector.{p.Name}", "must be a string"));
                }
            }
        }

        var tolerations = new List<V1Toleration>();
        if (res.TryGetProperty("tolerations", out var tol) && tol.ValueKind != JsonValueKind.Null)
        {
            if (tol.ValueKind != JsonValueKind.Array)
            {
                errors.Add(new("spec.resources.tolerations", "must be a list of tolerations"));
            }
            else
            {
                var i = 0;
                foreach (var t in tol.EnumerateArray())
                {
                    try
                    {
                        tolerations.Add(KubernetesJson.Deserialize<V1Toleration>(t.GetRawText()));
                    }
                    catch (JsonException ex)
                    {
                        errors.Add(new($"spec.resources.tolerations[{i}]", "not a toleration: " + ex.Message));
                    }

                    i++;
                }
            }
        }

        var priority = Name(res, "priorityClassName", "spec.resources.priorityClassName", errors);
        return new ResourceSettings(gpus, cpu, memory, selector, tolerations, string.IsNullOrEmpty(priority) ? null : priority);
    }

    private static RunPolicy ReadRunPolicy(JsonElement? p, List<FieldError> errors)
    {
        var d = RunPolicy.Default;
        if (p is not { } rp)
        {
            return d;
        }

        var maxRestarts = Int(rp, "maxRestarts", "spec.runPolicy.maxRestarts", errors, 0, 1000) ?? d.MaxRestarts;
        var backoff = Int(rp, "backoffSeconds", "spec.runPolicy.backoffSeconds", errors, 0, 3600) is { } b ? TimeSpan.FromSeconds(b) : d.Backoff;
        var stall = Duration(rp, "stallTimeout", "spec.runPolicy.stallTimeout", errors) ?? d.StallTimeout;
        if (stall <= TimeSpan.Zero)
        {
            errors.Add(new("spec.runPolicy.stallTimeout", "must be a positive duration"));
        }

        var onStall = d.OnStall;
        if (String(rp, "onStall", "spec.runPolicy.onStall", errors) is { } s)
        {
            if (!Enum.TryParse(s, ignoreCase: false, out onStall) || !Enum.IsDefined(onStall))
            {
                errors.Add(new("spec.runPolicy.onStall", $"must be one of Restart, Fail, None (got '{s}')"));
            }
        }

        var segment = Duration(rp, "maxSegmentDuration", "spec.runPolicy.maxSegmentDuration", errors);
        var deadline = Int(rp, "activeDeadlineSeconds", "spec.runPolicy.activeDeadlineSeconds", errors, 0, int.MaxValue);
        var ttl = Int(rp, "ttlSecondsAfterFinished", "spec.runPolicy.ttlSecondsAfterFinished", errors, 0, int.MaxValue);
        return new RunPolicy(
            maxRestarts,
            backoff,
            stall,
            onStall,
            segment is { } seg && seg > TimeSpan.Zero ? seg : null,
            deadline is > 0 ? TimeSpan.FromSeconds(deadline.Value) : null,
            ttl is > 0 ? TimeSpan.FromSeconds(ttl.Value) : null);
    }

    private static JsonElement? Object(JsonElement parent, string name, string path, List<FieldError> errors)
    {
        if (!parent.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new(path, "must be an object"));
            return null;
        }

        return v;
    }

    private static string? String(JsonElement parent, string name, string path, List<FieldError> errors)
    {
        if (!parent.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.String)
        {
            errors.Add(new(path, "must be a string"));
            return null;
        }

        return v.GetString();
    }

    private static bool? Bool(JsonElement parent, string name, string path, List<FieldError> errors)
    {
        if (!parent.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            errors.Add(new(path, "must be true or false"));
            return null;
        }

        return v.GetBoolean();
    }

    private static int? Int(JsonElement parent, string name, string path, List<FieldError> errors, int min, int max)
    {
        if (!parent.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n))
        {
            errors.Add(new(path, "must be an integer"));
            return null;
        }

        if (n < min || n > max)
        {
            errors.Add(new(path, $"must be between {min} and {max} (got {n})"));
            return null;
        }

        return n;
    }

    /// <summary>A DNS-1123 name (claim, class) as a string.</summary>
    private static string? Name(JsonElement parent, string name, string path, List<FieldError> errors)
    {
        var s = String(parent, name, path, errors);
        if (s is null || s.Length == 0)
        {
            return s;
        }

        if (s.Length > 253 || !s.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')
            || !char.IsAsciiLetterOrDigit(s[0]) || !char.IsAsciiLetterOrDigit(s[^1]))
        {
            errors.Add(new(path, $"must be a DNS-1123 name: lower-case letters, digits, '-' and '.' (got '{s}')"));
            return null;
        }

        return s;
    }

    private static string? Quantity(JsonElement parent, string name, string path, List<FieldError> errors)
    {
        if (!parent.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var text = v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        };
        if (text is null || !IsQuantity(text))
        {
            errors.Add(new(path, $"must be a Kubernetes quantity such as 8, 500m, 32Gi (got {v.GetRawText()})"));
            return null;
        }

        return text;
    }

    private static bool IsQuantity(string text)
    {
        var i = 0;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
        {
            i++;
        }

        if (i == 0 || !decimal.TryParse(text.AsSpan(0, i), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _))
        {
            return false;
        }

        return text[i..] is "" or "m" or "k" or "M" or "G" or "T" or "P" or "Ki" or "Mi" or "Gi" or "Ti" or "Pi";
    }

    private static TimeSpan? Duration(JsonElement parent, string name, string path, List<FieldError> errors)
    {
        var s = String(parent, name, path, errors);
        if (s is null)
        {
            return null;
        }

        if (!GoDuration.TryParse(s, out var value, out _))
        {
            errors.Add(new(path, $"must be a duration such as 90s, 15m, 1h30m (got '{s}')"));
            return null;
        }

        return value.Value;
    }
}
