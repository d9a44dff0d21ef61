using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using BiT.Contracts.Crds;
using BiT.Contracts.Rules;

namespace BiT.Contracts.Api;

/// <summary>
/// The validation rules of a job, as pure functions over the typed objects: the same rules whether the job came
/// from a YAML file (<see cref="ManifestParser"/>) or from the API server as JSON (the operator's reconciler).
/// The schema facts come from the <see cref="FieldAttribute"/>s the CRDs are generated from; the cross-field rules
/// below mirror the CRDs' CEL rules and add what needs the kind's defaults.
/// </summary>
public static class SpecValidator
{
    private static readonly ConcurrentDictionary<string, Regex> Patterns = new();

    private static readonly string[] PretrainOnly = ["epochs", "decayEpochs", "warmupEpochs", "weightDecay", "loss"];
    private static readonly string[] FineTuneOnly = ["precropSize", "mixupAlpha", "resolution", "scaleLearningRateWithBatch"];

    /// <summary>Every problem of a job (apiVersion, kind, metadata and spec); empty when it is valid.</summary>
    public static IReadOnlyList<FieldError> Validate(BiTJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var errors = new List<FieldError>();
        if (job.ApiVersion != ApiInfo.ApiVersion)
        {
            errors.Add(new FieldError("apiVersion", $"must be {ApiInfo.ApiVersion}, got '{job.ApiVersion}'"));
        }

        var expectedKind = job is BiTPretrainJob ? ApiInfo.PretrainKind : ApiInfo.FineTuneKind;
        if (job.Kind != expectedKind)
        {
            errors.Add(new FieldError("kind", $"must be {expectedKind}, got '{job.Kind}'"));
        }

        if (job.Metadata is null)
        {
            errors.Add(new FieldError("metadata", "required"));
        }
        else
        {
            CheckObject(job.Metadata, "metadata", errors);
        }

        errors.AddRange(ValidateSpec(expectedKind, job.Spec));
        return errors;
    }

    /// <summary>Every problem of a spec of the given kind; paths start with <c>spec.</c>.</summary>
    public static IReadOnlyList<FieldError> ValidateSpec(string kind, BiTJobSpec? spec)
    {
        var errors = new List<FieldError>();
        if (kind != ApiInfo.FineTuneKind && kind != ApiInfo.PretrainKind)
        {
            errors.Add(new FieldError("kind", $"must be {ApiInfo.FineTuneKind} or {ApiInfo.PretrainKind}, got '{kind}'"));
            return errors;
        }

        if (spec is null)
        {
            errors.Add(new FieldError("spec", "required"));
            return errors;
        }

        CheckObject(spec, "spec", errors);
        var pretrain = kind == ApiInfo.PretrainKind;
        if (spec.Model is { } model)
        {
            CheckModel(model, errors);
        }

        if (spec.Dataset is { Classes: { } classes } dataset)
        {
            if (dataset.NumClasses != classes.Count && dataset.NumClasses > 0)
            {
                errors.Add(new FieldError("spec.dataset.numClasses", $"must equal the number of classes listed in spec.dataset.classes ({classes.Count}), got {dataset.NumClasses}"));
            }

            var seen = new HashSet<int>();
            for (var i = 0; i < classes.Count; i++)
            {
                if (!seen.Add(classes[i]))
                {
                    errors.Add(new FieldError($"spec.dataset.classes[{i}]", $"lists label {classes[i]} twice"));
                }
            }
        }

        if (spec.Hyperparameters is { } h)
        {
            CheckHyperparameters(h, pretrain, errors);
        }

        CheckWorld(spec.Resources, spec.Hyperparameters, pretrain, errors);

        if (spec.Checkpoint?.Volume is { } volume)
        {
            if ((volume.ClaimName is null) == (volume.Size is null))
            {
                errors.Add(new FieldError("spec.checkpoint.volume", "give claimName (an existing claim) or size (a new claim), not both and not neither"));
            }

            if (volume.StorageClassName is not null && volume.Size is null)
            {
                errors.Add(new FieldError("spec.checkpoint.volume.storageClassName", "needs size (it describes a claim the operator creates)"));
            }
        }

        if (spec.RunPolicy is { } policy)
        {
            if (policy.StallTimeout is { } stall && stall.Value <= TimeSpan.Zero)
            {
                errors.Add(new FieldError("spec.runPolicy.stallTimeout", "must be longer than 0"));
            }

            if (policy.MaxSegmentDuration is { } segment && segment.Value <= TimeSpan.Zero)
            {
                errors.Add(new FieldError("spec.runPolicy.maxSegmentDuration", "must be longer than 0"));
            }
        }

        if (spec.Dataset is { Volume: not null, Path: { Length: > 0 } mountPath } && BiT.Contracts.Pods.PodPaths.MountProblem(mountPath) is { } mountProblem)
        {
            errors.Add(new FieldError("spec.dataset.path", $"{mountProblem}; got '{mountPath}'"));
        }

        if (spec.RunPolicy is { } bounded)
        {
            foreach (var (name, duration) in new[] { ("stallTimeout", bounded.StallTimeout), ("maxSegmentDuration", bounded.MaxSegmentDuration) })
            {
                if (duration is { } d && d.Value > TimeSpan.FromSeconds(RunPolicySpec.MaxSeconds))
                {
                    errors.Add(new FieldError($"spec.runPolicy.{name}", $"must be at most 10 years (87600h), got {d}"));
                }
            }
        }

        if (spec.Resources?.NodeSelector is { } selector)
        {
            foreach (var (key, value) in selector)
            {
                if (!IsLabelKey(key))
                {
                    errors.Add(new FieldError($"spec.resources.nodeSelector[{key}]", "the key must be a label key (an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends)"));
                }
                if (!IsLabelValue(value))
                {
                    errors.Add(new FieldError($"spec.resources.nodeSelector[{key}]", $"the value must be a label value (at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends), got '{value}'"));
                }
            }
        }

        if (spec.PodTemplate is { } template)
        {
            PodTemplateRules.Check(spec, template, errors);
        }

        if (spec.Resources?.Tolerations is { } tolerations)
        {
            for (var i = 0; i < tolerations.Count; i++)
            {
                if (tolerations[i]?.Operator == "Exists" && !string.IsNullOrEmpty(tolerations[i].Value))
                {
                    errors.Add(new FieldError($"spec.resources.tolerations[{i}].value", "must be empty with operator Exists"));
                }
            }
        }

        return errors;
    }

    /// <summary>
    /// The transition rules: model and dataset cannot change once the job exists (the CRD says the same in CEL).
    /// </summary>
    public static IReadOnlyList<FieldError> ValidateTransition(BiTJobSpec oldSpec, BiTJobSpec newSpec)
    {
        ArgumentNullException.ThrowIfNull(oldSpec);
        ArgumentNullException.ThrowIfNull(newSpec);
        var errors = new List<FieldError>();
        if (!SameJson(oldSpec.Model, newSpec.Model))
        {
            errors.Add(new FieldError("spec.model", "is immutable once the job exists"));
        }

        if (!SameJson(oldSpec.Dataset, newSpec.Dataset))
        {
            errors.Add(new FieldError("spec.dataset", "is immutable once the job exists"));
        }

        return errors;
    }

    private static bool SameJson<T>(T a, T b) =>
        JsonSerializer.Serialize(a, BiTJson.Options) == JsonSerializer.Serialize(b, BiTJson.Options);

    private static void CheckModel(ModelSpec model, List<FieldError> errors)
    {
        var custom = model.Architecture == "Custom";
        if (custom)
        {
            if (model.Blocks is null)
            {
                errors.Add(new FieldError("spec.model.blocks", "required with architecture Custom (units per stage, e.g. [1, 1, 1, 1])"));
            }

            if (model.WidthFactor is null)
            {
                errors.Add(new FieldError("spec.model.widthFactor", "required with architecture Custom (e.g. 0.5 or 1)"));
            }
        }
        else if (model.Architecture.Length > 0)
        {
            if (model.Blocks is not null)
            {
                errors.Add(new FieldError("spec.model.blocks", $"only allowed with architecture Custom (the architecture is {model.Architecture})"));
            }

            if (model.WidthFactor is not null)
            {
                errors.Add(new FieldError("spec.model.widthFactor", $"only allowed with architecture Custom (the architecture is {model.Architecture})"));
            }
        }

        if (model.WidthFactor is { } w && double.IsFinite(w) && w > 0 && Math.Abs((w * 2) - Math.Round(w * 2)) > 1e-9)
        {
            errors.Add(new FieldError(
                "spec.model.widthFactor",
                $"must be a multiple of 0.5 so that every width (64·w root channels) divides into 32 groups, got {Format(w)}"));
        }

        if (model.Weights is { } weights)
        {
            var sources = new List<string>();
            if (weights.Url is not null)
            {
                sources.Add("url");
            }

            if (weights.Path is not null)
            {
                sources.Add("path");
            }

            if (weights.FromPretrainJob is not null)
            {
                sources.Add("fromPretrainJob");
            }

            if (sources.Count != 1)
            {
                var got = sources.Count == 0 ? "none" : string.Join(", ", sources);
                errors.Add(new FieldError("spec.model.weights", $"exactly one of url, path, fromPretrainJob must be set, got {got} (omit weights for random initialisation)"));
            }

            if (weights.Url is not null && weights.Sha256 is null)
            {
                errors.Add(new FieldError("spec.model.weights.sha256", "required with url (64 lowercase hex digits)"));
            }

            if (weights.Sha256 is not null && weights.FromPretrainJob is not null)
            {
                errors.Add(new FieldError("spec.model.weights.sha256", "not allowed with fromPretrainJob"));
            }
        }
    }

    /// <summary>
    /// The world (workers x processes per pod) must split every global batch evenly, and each rank's share must split
    /// into batchSplit micro-batches: the same rule the trainer applies before it starts (docs/distributed.md).
    /// </summary>
    private static void CheckWorld(ResourcesSpec? r, HyperparametersSpec? h, bool pretrain, List<FieldError> errors)
    {
        if (r is null)
        {
            return;
        }

        if (r.Gpus is > 0 and var gpus && r.ProcessesPerWorker is { } processes && processes != gpus)
        {
            errors.Add(new FieldError("spec.resources.processesPerWorker", $"a GPU pod runs one process per GPU (spec.resources.gpus {gpus}); leave processesPerWorker out or set it to {gpus}, got {processes}"));
            return;
        }

        var world = r.WorldSize;
        if (world <= 1)
        {
            return;
        }

        var batch = h?.BatchSize ?? (pretrain ? UpstreamRecipe.DefaultBatchSize : HyperRule.ReferenceBatchSize);
        var which = h?.BatchSize is null ? $"the default batchSize {batch}" : $"batchSize {batch}";
        var perPod = r.Gpus is > 0 ? $"{r.ProcessesPerPod} GPUs" : $"{r.ProcessesPerPod} processes";
        var worldText = $"world size {world} (spec.resources.workers {r.Workers ?? 1} x {perPod} per pod)";
        if (batch > 0 && batch % world != 0)
        {
            errors.Add(new FieldError("spec.hyperparameters.batchSize", $"{which} must be a multiple of the {worldText}: each rank takes an equal share of every global batch"));
            return;
        }

        if (h?.BatchSplit is { } split && split > 0 && batch > 0 && (batch / world) % split != 0)
        {
            errors.Add(new FieldError("spec.hyperparameters.batchSplit", $"must divide each rank's share of {which}: {batch / world} images for the {worldText}, got {split}"));
        }
    }

    private static void CheckHyperparameters(HyperparametersSpec h, bool pretrain, List<FieldError> errors)
    {
        const string P = "spec.hyperparameters";
        var given = ApiFields.Of(typeof(HyperparametersSpec))
            .Where(f => f.Property.GetValue(h) is not null)
            .Select(f => f.Name)
            .ToHashSet(StringComparer.Ordinal);
        foreach (var name in pretrain ? FineTuneOnly : PretrainOnly)
        {
            if (given.Contains(name))
            {
                var only = pretrain ? ApiInfo.FineTuneKind : ApiInfo.PretrainKind;
                errors.Add(new FieldError($"{P}.{name}", $"only allowed in a {only}"));
            }
        }

        var batch = h.BatchSize ?? (pretrain ? UpstreamRecipe.DefaultBatchSize : HyperRule.ReferenceBatchSize);
        if (h.BatchSplit is { } split && split > 0 && batch > 0 && batch % split != 0)
        {
            var which = h.BatchSize is null ? $"the default batchSize {batch}" : $"batchSize {batch}";
            errors.Add(new FieldError($"{P}.batchSplit", $"must divide {which}, got {split}"));
        }

        if (h.WarmupSteps is { } warmup && h.TotalSteps is { } total && warmup > total)
        {
            errors.Add(new FieldError($"{P}.warmupSteps", $"must be <= totalSteps ({total}), got {warmup}"));
        }

        if (h.WarmupSteps is not null && h.WarmupEpochs is not null)
        {
            errors.Add(new FieldError($"{P}.warmupEpochs", "give warmupSteps or warmupEpochs, not both"));
        }

        if (h.DecaySteps is not null && h.DecayEpochs is not null)
        {
            errors.Add(new FieldError($"{P}.decayEpochs", "give decaySteps or decayEpochs, not both"));
        }

        if (h.PrecropSize is { } precrop && h.CropSize is { } crop && crop > precrop)
        {
            errors.Add(new FieldError($"{P}.cropSize", $"must be <= precropSize ({precrop}), got {crop}"));
        }

        if (h.DecaySteps is { } decays)
        {
            for (var i = 1; i < decays.Count; i++)
            {
                if (decays[i] <= decays[i - 1])
                {
                    errors.Add(new FieldError($"{P}.decaySteps[{i}]", $"must be greater than decaySteps[{i - 1}] ({decays[i - 1]}), got {decays[i]}"));
                }
            }

            if (h.TotalSteps is { } t)
            {
                for (var i = 0; i < decays.Count; i++)
                {
                    if (decays[i] >= t)
                    {
                        errors.Add(new FieldError($"{P}.decaySteps[{i}]", $"must be < totalSteps ({t}), got {decays[i]}"));
                    }
                }
            }
        }

        if (h.DecayEpochs is { } decayEpochs)
        {
            var epochs = h.Epochs ?? UpstreamRecipe.DefaultEpochs;
            for (var i = 0; i < decayEpochs.Count; i++)
            {
                if (i > 0 && decayEpochs[i] <= decayEpochs[i - 1])
                {
                    errors.Add(new FieldError($"{P}.decayEpochs[{i}]", $"must be greater than decayEpochs[{i - 1}] ({Format(decayEpochs[i - 1])}), got {Format(decayEpochs[i])}"));
                }

                if (decayEpochs[i] >= epochs)
                {
                    errors.Add(new FieldError($"{P}.decayEpochs[{i}]", $"must be < epochs ({Format(epochs)}), got {Format(decayEpochs[i])}"));
                }
            }
        }
    }

    /// <summary>The attribute-driven checks: required, ranges, lengths, patterns, enums; recursing into objects and lists.</summary>
    private static void CheckObject(object obj, string path, List<FieldError> errors)
    {
        if (KubeTypeSchema.Handles(obj.GetType()))
        {
            // Kubernetes' own types carry no field attributes; PodTemplateRules checks what the pod needs of them.
            return;
        }

        foreach (var f in ApiFields.Of(obj.GetType()))
        {
            var fieldPath = $"{path}.{f.Name}";
            var value = f.Property.GetValue(obj);
            var attr = f.Field;
            if (value is null || (value is string s0 && s0.Length == 0 && f.Required))
            {
                if (f.Required)
                {
                    errors.Add(new FieldError(fieldPath, "required"));
                }

                continue;
            }

            if (attr is not null && value is ICollection collection)
            {
                if (attr.MinItems >= 0 && collection.Count < attr.MinItems)
                {
                    errors.Add(new FieldError(fieldPath, attr.MinItems == attr.MaxItems
                        ? $"must have exactly {attr.MinItems} items, got {collection.Count}"
                        : $"must have at least {attr.MinItems} items, got {collection.Count}"));
                }
                else if (attr.MaxItems >= 0 && collection.Count > attr.MaxItems)
                {
                    errors.Add(new FieldError(fieldPath, attr.MinItems == attr.MaxItems
                        ? $"must have exactly {attr.MaxItems} items, got {collection.Count}"
                        : $"must have at most {attr.MaxItems} items, got {collection.Count}"));
                }
            }

            if (value is string || value is IDictionary || value.GetType().IsValueType)
            {
                CheckValue(value, attr, fieldPath, errors);
            }
            else if (value is IEnumerable items)
            {
                var i = 0;
                foreach (var item in items)
                {
                    var itemPath = $"{fieldPath}[{i++}]";
                    if (item is null)
                    {
                        errors.Add(new FieldError(itemPath, "must not be null"));
                    }
                    else if (ApiFields.IsObject(item.GetType()))
                    {
                        CheckObject(item, itemPath, errors);
                    }
                    else
                    {
                        CheckValue(item, attr, itemPath, errors);
                    }
                }
            }
            else
            {
                CheckObject(value, fieldPath, errors);
            }
        }
    }

    private static void CheckValue(object value, FieldAttribute? attr, string path, List<FieldError> errors)
    {
        switch (value)
        {
            case string s when attr is not null:
                if (attr.MinLength >= 0 && s.Length < attr.MinLength)
                {
                    errors.Add(new FieldError(path, attr.MinLength == 1 ? "must not be empty" : $"must be at least {attr.MinLength} characters long"));
                }
                else if (attr.MaxLength >= 0 && s.Length > attr.MaxLength)
                {
                    errors.Add(new FieldError(path, $"must be at most {attr.MaxLength} characters long, got {s.Length}"));
                }
                else if (attr.Pattern is { } pattern && !Pattern(pattern).IsMatch(s))
                {
                    errors.Add(new FieldError(path, $"must be {attr.PatternHint ?? "a string matching " + pattern}, got '{s}'"));
                }

                break;
            case Enum e when !Enum.IsDefined(e.GetType(), e):
                errors.Add(new FieldError(path, $"must be one of {string.Join(", ", Enum.GetNames(e.GetType()))}, got {e}"));
                break;
            case int or long or double when attr is not null:
                CheckRange(Convert.ToDouble(value, CultureInfo.InvariantCulture), attr, path, errors);
                break;
        }
    }

    private static void CheckRange(double v, FieldAttribute attr, string path, List<FieldError> errors)
    {
        if (double.IsNaN(v) || double.IsInfinity(v))
        {
            errors.Add(new FieldError(path, $"must be a finite number, got {Format(v)}"));
            return;
        }

        if (!double.IsNaN(attr.Minimum) && (attr.ExclusiveMinimum ? v <= attr.Minimum : v < attr.Minimum))
        {
            errors.Add(new FieldError(path, $"must be {(attr.ExclusiveMinimum ? ">" : ">=")} {Format(attr.Minimum)}, got {Format(v)}"));
        }
        else if (!double.IsNaN(attr.Maximum) && v > attr.Maximum)
        {
            errors.Add(new FieldError(path, $"must be <= {Format(attr.Maximum)}, got {Format(v)}"));
        }
    }

    /// <summary>A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters.</summary>
    internal static bool IsLabelKey(string key) =>
        key.Length <= 317 && Pattern(ApiPatterns.LabelKey).IsMatch(key) && (!key.Contains('/') || key[..key.IndexOf('/')].Length <= 253);

    /// <summary>A label value: at most 63 characters, alphanumeric at both ends.</summary>
    internal static bool IsLabelValue(string? value) => value is not null && value.Length <= 63 && Pattern(ApiPatterns.LabelValue).IsMatch(value);

    internal static bool Matches(string value, string pattern) => Pattern(pattern).IsMatch(value);

    private static Regex Pattern(string pattern) =>
        Patterns.GetOrAdd(pattern, p => new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)));

    internal static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
