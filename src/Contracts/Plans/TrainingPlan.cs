using System.Text.Json;
using System.Text.Json.Serialization;
using BiT.Contracts.Api;

namespace BiT.Contracts.Plans;

/// <summary>
/// Everything the trainer needs, resolved: the job's identity, the network, where the weights and data are as
/// the trainer sees them, every hyperparameter, checkpointing and the seed. Written as plan.json by the operator
/// (and by <c>bit-trainer run</c>); <see cref="PlanHash"/> identifies what affects the result.
/// </summary>
public sealed record TrainingPlan
{
    /// <summary>Format version of plan.json.</summary>
    public const string CurrentVersion = "bit.training/plan-v1";

    /// <summary>Format version.</summary>
    public string PlanVersion { get; init; } = CurrentVersion;

    /// <summary>BiTFineTuneJob or BiTPretrainJob.</summary>
    public string Kind { get; init; } = "";

    /// <summary>Which job this is (for status reporting).</summary>
    public PlanJob Job { get; init; } = new();

    /// <summary>The network.</summary>
    public PlanModel Model { get; init; } = new();

    /// <summary>The data.</summary>
    public PlanDataset Dataset { get; init; } = new();

    /// <summary>Every hyperparameter.</summary>
    public ResolvedHyperparameters Hyperparameters { get; init; } = new();

    /// <summary>Checkpointing.</summary>
    public PlanCheckpoint Checkpoint { get; init; } = new();

    /// <summary>Seed of initialisation, data order, augmentation and MixUp.</summary>
    public long Seed { get; init; }

    /// <summary>
    /// Set when the plan was made without the data's size or image size (the operator cannot read the data): the
    /// hyperparameters are placeholders until the trainer measures the data and calls
    /// <see cref="PlanResolver.Complete"/>. Null in a complete plan.
    /// </summary>
    public DeferredResolution? Deferred { get; init; }

    /// <summary>True for pre-training.</summary>
    [JsonIgnore]
    public bool IsPretrain => Kind == ApiInfo.PretrainKind;

    /// <summary>True while the hyperparameters wait for facts about the data (see <see cref="Deferred"/>).</summary>
    [JsonIgnore]
    public bool IsDeferred => Deferred is not null;

    /// <summary>plan.json text (indented).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, BiTJson.IndentedOptions);

    /// <summary>Reads plan.json.</summary>
    /// <exception cref="PlanException">Not a plan of this version, or malformed.</exception>
    public static TrainingPlan FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        TrainingPlan? plan;
        try
        {
            plan = JsonSerializer.Deserialize<TrainingPlan>(json, BiTJson.Options);
        }
        catch (JsonException e)
        {
            throw new PlanException([new FieldError(string.IsNullOrEmpty(e.Path) ? "(plan)" : e.Path.TrimStart('$', '.'), e.Message)]);
        }

        if (plan is null)
        {
            throw new PlanException("plan.json holds null");
        }

        if (plan.PlanVersion != CurrentVersion)
        {
            throw new PlanException([new FieldError("planVersion", $"must be {CurrentVersion}, got '{plan.PlanVersion}'")]);
        }

        if (plan.Kind is not (ApiInfo.FineTuneKind or ApiInfo.PretrainKind))
        {
            throw new PlanException([new FieldError("kind", $"must be {ApiInfo.FineTuneKind} or {ApiInfo.PretrainKind}, got '{plan.Kind}'")]);
        }

        return plan;
    }
}

/// <summary>What a deferred plan still needs: the spec to resolve from and the facts that were missing.</summary>
public sealed record DeferredResolution
{
    /// <summary>The <see cref="ResolvedHyperparameters.Rule"/> of a deferred plan's placeholder hyperparameters.</summary>
    public const string RuleName = "Deferred";

    /// <summary>The job's spec, resolved again by <see cref="PlanResolver.Complete"/>.</summary>
    public BiTJobSpec Spec { get; init; } = new();

    /// <summary>Field paths of the missing facts (spec.dataset.trainExamples, spec.dataset.imageSize).</summary>
    public IReadOnlyList<string> Missing { get; init; } = [];
}

/// <summary>The job's identity.</summary>
public sealed record PlanJob
{
    /// <summary>Namespace (empty locally).</summary>
    public string Namespace { get; init; } = "";

    /// <summary>Name.</summary>
    public string Name { get; init; } = "";

    /// <summary>UID (empty locally).</summary>
    public string Uid { get; init; } = "";

    /// <summary>metadata.generation the plan was made from.</summary>
    public long Generation { get; init; }
}

/// <summary>The resolved network.</summary>
public sealed record PlanModel
{
    /// <summary>R50x1 ... R152x4 (prefix removed) or Custom.</summary>
    public string Architecture { get; init; } = "";

    /// <summary>Units per stage (filled in for published architectures too).</summary>
    public IReadOnlyList<int> Blocks { get; init; } = [];

    /// <summary>Width factor.</summary>
    public double WidthFactor { get; init; }

    /// <summary>Classes of the new head.</summary>
    public int NumClasses { get; init; }

    /// <summary>Initial weights; null = random initialisation.</summary>
    public PlanWeights? Weights { get; init; }
}

/// <summary>Where the initial weights come from.</summary>
public enum WeightsSource
{
    /// <summary>Download from <see cref="PlanWeights.Url"/> and check the SHA-256.</summary>
    Url,

    /// <summary>Read <see cref="PlanWeights.Path"/>.</summary>
    Path,

    /// <summary>The output of a BiTPretrainJob, mounted at <see cref="PlanWeights.Path"/>.</summary>
    PretrainJob,
}

/// <summary>The resolved weight source.</summary>
public sealed record PlanWeights
{
    /// <summary>Kind of source.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<WeightsSource>))]
    public WeightsSource Source { get; init; }

    /// <summary>URL for <see cref="WeightsSource.Url"/>.</summary>
    public string? Url { get; init; }

    /// <summary>Expected SHA-256 (required with url).</summary>
    public string? Sha256 { get; init; }

    /// <summary>File as the trainer sees it (absolute when the manifest's folder was known).</summary>
    public string? Path { get; init; }

    /// <summary>Name of the upstream BiTPretrainJob.</summary>
    public string? PretrainJob { get; init; }
}

/// <summary>The resolved data.</summary>
public sealed record PlanDataset
{
    /// <summary>File format.</summary>
    public DatasetFormat Format { get; init; }

    /// <summary>Folder with the splits, as the trainer sees it.</summary>
    public string Path { get; init; } = "";

    /// <summary>Classes.</summary>
    public int NumClasses { get; init; }

    /// <summary>Label subset (relabelled 0..n-1 in this order), or null for all labels.</summary>
    public IReadOnlyList<int>? Classes { get; init; }

    /// <summary>Training examples (spec or measured; before few-shot).</summary>
    public long TrainExamples { get; init; }

    /// <summary>Original image height (0 when unknown and not needed: pre-training).</summary>
    public int ImageHeight { get; init; }

    /// <summary>Original image width.</summary>
    public int ImageWidth { get; init; }

    /// <summary>Few-shot k, or null.</summary>
    public int? FewShotExamplesPerClass { get; init; }

    /// <summary>Seed of the few-shot draw.</summary>
    public long FewShotSeed { get; init; }
}

/// <summary>Checkpointing.</summary>
public sealed record PlanCheckpoint
{
    /// <summary>Every N steps (null = not by steps).</summary>
    public int? EverySteps { get; init; }

    /// <summary>Every T seconds (null = not by time).</summary>
    public int? EverySeconds { get; init; }

    /// <summary>Checkpoints kept.</summary>
    public int Keep { get; init; } = Api.CheckpointSpec.DefaultKeep;

    /// <summary>Folder of the checkpoints as the trainer sees it; null = the trainer's work directory.</summary>
    public string? Directory { get; init; }
}
