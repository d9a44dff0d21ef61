using BiT.Contracts.Api;
using BiT.Contracts.Rules;

namespace BiT.Contracts.Plans;

/// <summary>
/// Turns a job into its <see cref="TrainingPlan"/>: validates the spec, applies the HyperRule (fine-tuning) or
/// the upstream recipe (pre-training) to the dataset's size and image size, then the spec's overrides. Pure: the
/// operator and <c>bit-trainer run</c> get the same plan from the same inputs.
/// </summary>
/// <remarks>
/// Overrides that change the length of the run keep the rule's shape: <c>totalSteps</c> alone scales the rule's
/// warm-up and decay boundaries by totalSteps / ruleTotal (boundaries that round onto 0, the end or each other are
/// dropped). <c>cropSize</c> alone keeps the rule's precrop/crop ratio (160/128 or 512/480), and so does
/// <c>precropSize</c> alone.
/// </remarks>
public static class PlanResolver
{
    /// <summary>Resolves a job's plan.</summary>
    /// <param name="job">The job (from a manifest or the API server).</param>
    /// <param name="measured">What the trainer measured from the data; needed when the spec omits trainExamples (or, for fine-tuning, imageSize).</param>
    /// <param name="options">Where paths are as the trainer sees them.</param>
    /// <exception cref="PlanException">The spec is invalid, or a fact about the data is missing.</exception>
    public static TrainingPlan Resolve(BiTJob job, DatasetFacts? measured, PlanResolverOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        options ??= new PlanResolverOptions();
        var jobName = string.IsNullOrEmpty(job.Metadata?.Namespace) ? job.Metadata?.Name : $"{job.Metadata.Namespace}/{job.Metadata.Name}";
        var errors = options.Validated ? [] : SpecValidator.Validate(job).ToList();
        if (errors.Count > 0)
        {
            throw new PlanException(errors, jobName);
        }

        var spec = job.Spec;
        var model = spec.Model!;
        var dataset = spec.Dataset!;
        var pretrain = job.IsPretrain;

        var (n, height, width, missing) = Facts(dataset, measured, pretrain);
        ResolvedHyperparameters hyper;
        DeferredResolution? deferred = null;
        if (missing.Count > 0)
        {
            if (!options.DeferUnmeasuredFacts)
            {
                throw new PlanException(missing, jobName);
            }

            hyper = new ResolvedHyperparameters { Rule = DeferredResolution.RuleName };
            // The pod's additions are the operator's business: they stay out of the plan the trainer reads (and its hash).
            deferred = new DeferredResolution { Spec = spec with { PodTemplate = null }, Missing = [.. missing.Select(e => e.Path)] };
        }
        else
        {
            hyper = ResolveHyperparameters(pretrain, spec, n!.Value, height, width, errors)
                ?? throw new PlanException(errors, jobName);
        }

        return new TrainingPlan
        {
            Kind = job.Kind,
            Job = new PlanJob
            {
                Namespace = job.Metadata?.Namespace ?? "",
                Name = job.Metadata?.Name ?? "",
                Uid = job.Metadata?.Uid ?? "",
                Generation = job.Metadata?.Generation ?? 0,
            },
            Model = ResolveModel(model, dataset.NumClasses, options),
            Dataset = new PlanDataset
            {
                Format = dataset.Format!.Value,
                Path = ResolvePath(dataset.Path, options.ManifestDirectory),
                NumClasses = dataset.NumClasses,
                Classes = dataset.Classes,
                TrainExamples = n ?? 0,
                ImageHeight = height ?? 0,
                ImageWidth = width ?? 0,
                FewShotExamplesPerClass = dataset.FewShot?.ExamplesPerClass,
                FewShotSeed = dataset.FewShot?.Seed ?? 0,
            },
            Hyperparameters = hyper,
            Checkpoint = new PlanCheckpoint
            {
                EverySteps = spec.Checkpoint?.EverySteps
                    ?? (spec.Checkpoint?.EverySeconds is null ? CheckpointSpec.DefaultEverySteps : null),
                EverySeconds = spec.Checkpoint?.EverySeconds,
                Keep = spec.Checkpoint?.Keep ?? CheckpointSpec.DefaultKeep,
                Directory = options.CheckpointDirectory,
            },
            Seed = spec.Seed ?? 0,
            Deferred = deferred,
        };
    }

    /// <summary>
    /// Finishes a deferred plan (<see cref="TrainingPlan.IsDeferred"/>) with the facts the trainer measured in the
    /// pod: the same hyperparameters <see cref="Resolve"/> would have given with those facts; everything else
    /// (identity, paths, checkpointing, seed) is kept. A plan that is not deferred comes back unchanged.
    /// </summary>
    /// <exception cref="PlanException">A fact is still missing or the overrides clash with the rule.</exception>
    public static TrainingPlan Complete(TrainingPlan plan, DatasetFacts? measured)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Deferred is not { } deferred)
        {
            return plan;
        }

        var jobName = string.IsNullOrEmpty(plan.Job.Namespace) ? plan.Job.Name : $"{plan.Job.Namespace}/{plan.Job.Name}";
        var spec = deferred.Spec;
        var errors = SpecValidator.ValidateSpec(plan.Kind, spec).ToList();
        if (errors.Count > 0)
        {
            throw new PlanException(errors, jobName);
        }

        var (n, height, width, missing) = Facts(spec.Dataset!, measured, plan.IsPretrain);
        if (missing.Count > 0)
        {
            throw new PlanException(missing, jobName);
        }

        var hyper = ResolveHyperparameters(plan.IsPretrain, spec, n!.Value, height, width, errors)
            ?? throw new PlanException(errors, jobName);
        return plan with
        {
            Deferred = null,
            Hyperparameters = hyper,
            Dataset = plan.Dataset with { TrainExamples = n.Value, ImageHeight = height ?? 0, ImageWidth = width ?? 0 },
        };
    }

    private static (long? N, int? Height, int? Width, List<FieldError> Missing) Facts(DatasetSpec dataset, DatasetFacts? measured, bool pretrain)
    {
        var missing = new List<FieldError>();
        var trainExamples = dataset.TrainExamples ?? measured?.TrainExamples;
        var height = dataset.ImageSize?.Height ?? measured?.ImageHeight;
        var width = dataset.ImageSize?.Width ?? measured?.ImageWidth;
        if (trainExamples is not > 0)
        {
            missing.Add(new FieldError("spec.dataset.trainExamples", "unknown: set it in the spec or measure it from the data"));
        }

        if (!pretrain && (height is not > 0 || width is not > 0))
        {
            missing.Add(new FieldError("spec.dataset.imageSize", "unknown: set it in the spec or measure it from the data (the HyperRule needs the image area)"));
        }

        return (trainExamples is > 0 ? trainExamples : null, height is > 0 ? height : null, width is > 0 ? width : null, missing);
    }

    private static ResolvedHyperparameters? ResolveHyperparameters(
        bool pretrain, BiTJobSpec spec, long n, int? height, int? width, List<FieldError> errors)
    {
        // Few-shot: the schedule follows the subset's size (5-shot CIFAR-10 = 50 examples = the small regime).
        var dataset = spec.Dataset!;
        var scheduleExamples = dataset.FewShot is { } fs ? Math.Min(n, (long)fs.ExamplesPerClass * dataset.NumClasses) : n;
        var h = spec.Hyperparameters ?? new HyperparametersSpec();
        return pretrain
            ? ResolvePretrain(h, scheduleExamples, errors)
            : ResolveFineTune(h, scheduleExamples, height!.Value, width!.Value, errors);
    }

    private static PlanModel ResolveModel(ModelSpec model, int numClasses, PlanResolverOptions options)
    {
        IReadOnlyList<int> blocks;
        double widthFactor;
        var architecture = Architectures.Normalize(model.Architecture);
        if (!Architectures.TryGet(architecture, out blocks, out widthFactor))
        {
            blocks = model.Blocks!;
            widthFactor = model.WidthFactor!.Value;
        }

        PlanWeights? weights = model.Weights switch
        {
            null => null,
            { Url: { } url } w => new PlanWeights { Source = WeightsSource.Url, Url = url, Sha256 = w.Sha256 },
            { Path: { } path } w => new PlanWeights { Source = WeightsSource.Path, Path = ResolvePath(path, options.ManifestDirectory), Sha256 = w.Sha256 },
            { FromPretrainJob: { } upstream } => new PlanWeights
            {
                Source = WeightsSource.PretrainJob,
                PretrainJob = upstream.Name,
                Path = options.PretrainModelPath?.Invoke(upstream.Name),
            },
            _ => null,
        };
        return new PlanModel
        {
            Architecture = architecture,
            Blocks = [.. blocks],
            WidthFactor = widthFactor,
            NumClasses = numClasses,
            Weights = weights,
        };
    }

    private static ResolvedHyperparameters? ResolveFineTune(HyperparametersSpec h, long n, int height, int width, List<FieldError> errors)
    {
        var batch = h.BatchSize ?? HyperRule.ReferenceBatchSize;
        var rule = HyperRule.Resolve(n, height, width, batch, h.Resolution ?? ResolutionRule.Reference, h.ScaleLearningRateWithBatch ?? false);
        var total = h.TotalSteps ?? rule.TotalSteps;
        var scale = (double)total / rule.TotalSteps;
        var warmup = h.WarmupSteps ?? (int)Math.Round(rule.WarmupSteps * scale, MidpointRounding.AwayFromZero);
        var decays = h.DecaySteps ?? ScaleBoundaries(rule.DecaySteps, scale, total);

        int precrop;
        int crop;
        if (h.PrecropSize is { } p && h.CropSize is { } c)
        {
            (precrop, crop) = (p, c);
        }
        else if (h.CropSize is { } c2)
        {
            (precrop, crop) = ((int)Math.Round((double)c2 * rule.PrecropSize / rule.CropSize, MidpointRounding.AwayFromZero), c2);
        }
        else if (h.PrecropSize is { } p2)
        {
            (precrop, crop) = (p2, Math.Max(1, (int)Math.Round((double)p2 * rule.CropSize / rule.PrecropSize, MidpointRounding.AwayFromZero)));
        }
        else
        {
            (precrop, crop) = (rule.PrecropSize, rule.CropSize);
        }

        var resolved = new ResolvedHyperparameters
        {
            Rule = "HyperRule",
            Overridden = Overridden(h),
            BatchSize = batch,
            BatchSplit = h.BatchSplit ?? 1,
            BaseLearningRate = h.BaseLearningRate ?? rule.BaseLearningRate,
            TotalSteps = total,
            WarmupSteps = warmup,
            DecaySteps = [.. decays],
            PrecropSize = precrop,
            CropSize = crop,
            MixupAlpha = h.MixupAlpha ?? rule.MixupAlpha,
            Momentum = 0.9,
            WeightDecay = 0,
            Loss = LossFunction.Softmax,
            TrainExamples = n,
        };
        return CheckSchedule(resolved, errors) ? resolved : null;
    }

    private static ResolvedHyperparameters? ResolvePretrain(HyperparametersSpec h, long n, List<FieldError> errors)
    {
        UpstreamSettings recipe;
        try
        {
            recipe = UpstreamRecipe.Resolve(
                n,
                h.BatchSize ?? UpstreamRecipe.DefaultBatchSize,
                h.Epochs ?? UpstreamRecipe.DefaultEpochs,
                h.DecayEpochs,
                h.WarmupSteps,
                h.WarmupEpochs,
                h.BaseLearningRate,
                h.WeightDecay,
                h.CropSize ?? UpstreamRecipe.DefaultCropSize,
                h.Loss ?? LossFunction.Softmax,
                h.TotalSteps);
        }
        catch (ArgumentOutOfRangeException e)
        {
            errors.Add(new FieldError($"spec.hyperparameters.{e.ParamName}", FirstLine(e.Message)));
            return null;
        }

        var resolved = new ResolvedHyperparameters
        {
            Rule = "UpstreamRecipe",
            Overridden = Overridden(h),
            BatchSize = recipe.BatchSize,
            BatchSplit = h.BatchSplit ?? 1,
            BaseLearningRate = recipe.BaseLearningRate,
            TotalSteps = recipe.TotalSteps,
            WarmupSteps = recipe.WarmupSteps,
            DecaySteps = h.DecaySteps is { } absolute ? [.. absolute] : [.. recipe.DecaySteps],
            PrecropSize = null,
            CropSize = recipe.CropSize,
            MixupAlpha = 0,
            Momentum = recipe.Momentum,
            WeightDecay = recipe.WeightDecay,
            Loss = recipe.Loss,
            Epochs = recipe.Epochs,
            DecayEpochs = h.DecaySteps is null ? [.. recipe.DecayEpochs] : null,
            TrainExamples = n,
        };
        return CheckSchedule(resolved, errors) ? resolved : null;
    }

    /// <summary>The final check: the values make a valid schedule (an override can still clash with a rule's value).</summary>
    private static bool CheckSchedule(ResolvedHyperparameters h, List<FieldError> errors)
    {
        try
        {
            _ = h.ToSchedule();
        }
        catch (ArgumentOutOfRangeException e)
        {
            var field = e.ParamName ?? "totalSteps";
            errors.Add(new FieldError(
                $"spec.hyperparameters.{field}",
                $"{FirstLine(e.Message)} (resolved: totalSteps {h.TotalSteps}, warmupSteps {h.WarmupSteps}, decaySteps [{string.Join(", ", h.DecaySteps)}])"));
            return false;
        }

        if (h.BatchSize % h.BatchSplit != 0)
        {
            errors.Add(new FieldError("spec.hyperparameters.batchSplit", $"must divide batchSize {h.BatchSize}, got {h.BatchSplit}"));
            return false;
        }

        if (h.PrecropSize is { } precrop && h.CropSize > precrop)
        {
            errors.Add(new FieldError("spec.hyperparameters.cropSize", $"must be <= precropSize ({precrop}), got {h.CropSize}"));
            return false;
        }

        return true;
    }

    private static List<int> ScaleBoundaries(IReadOnlyList<int> boundaries, double scale, int total)
    {
        var result = new List<int>();
        foreach (var b in boundaries)
        {
            var s = (int)Math.Round(b * scale, MidpointRounding.AwayFromZero);
            if (s > 0 && s < total && (result.Count == 0 || s > result[^1]))
            {
                result.Add(s);
            }
        }

        return result;
    }

    private static List<string> Overridden(HyperparametersSpec h) =>
        [.. ApiFields.Of(typeof(HyperparametersSpec)).Where(f => f.Property.GetValue(h) is not null).Select(f => f.Name)];

    private static string ResolvePath(string path, string? baseDirectory) =>
        baseDirectory is null || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));

    private static string FirstLine(string message)
    {
        var cut = message.IndexOf(" (Parameter", StringComparison.Ordinal);
        var first = cut >= 0 ? message[..cut] : message;
        var newline = first.IndexOf('\n', StringComparison.Ordinal);
        return (newline >= 0 ? first[..newline] : first).Trim();
    }
}
