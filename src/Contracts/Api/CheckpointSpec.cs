using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>When to checkpoint, how many to keep, and where.</summary>
[Field("Checkpointing: every N steps and/or every T seconds (default every 100 steps), keeping the last few.")]
public sealed record CheckpointSpec
{
    /// <summary>Default checkpoint interval in steps when neither interval is given.</summary>
    public const int DefaultEverySteps = 100;

    /// <summary>Default number of checkpoints kept.</summary>
    public const int DefaultKeep = 3;

    /// <summary>Checkpoint every N optimizer steps.</summary>
    [Field("Checkpoint every N optimizer steps.", Minimum = 1)]
    public int? EverySteps { get; init; }

    /// <summary>Checkpoint every T seconds of training.</summary>
    [Field("Checkpoint every T seconds of training.", Minimum = 1)]
    public int? EverySeconds { get; init; }

    /// <summary>How many checkpoints to keep.</summary>
    [Field("How many checkpoints to keep (default 3).", Minimum = 1, Maximum = 1000)]
    public int? Keep { get; init; }

    /// <summary>Where checkpoints live in the cluster.</summary>
    [Field("Checkpoint storage in the cluster: an existing claim (claimName), or one the operator creates (storageClassName, size).")]
    public CheckpointVolumeSpec? Volume { get; init; }
}

/// <summary>An existing claim, or the parameters of one the operator creates.</summary>
[Field("An existing claim (claimName) or one the operator creates (size, optional storageClassName).")]
[CelRule("has(self.claimName) != has(self.size)", "give claimName (an existing claim) or size (a new claim), not both")]
[CelRule("!has(self.storageClassName) || has(self.size)", "storageClassName needs size (it describes a new claim)")]
public sealed record CheckpointVolumeSpec
{
    /// <summary>An existing claim.</summary>
    [Field("Name of an existing claim.", Pattern = ApiPatterns.DnsSubdomain, PatternHint = "a DNS-1123 subdomain", MaxLength = 253)]
    public string? ClaimName { get; init; }

    /// <summary>Storage class of a new claim.</summary>
    [Field("Storage class of the claim the operator creates.", Pattern = ApiPatterns.DnsSubdomainOrEmpty, PatternHint = "a DNS-1123 subdomain", MaxLength = 253)]
    public string? StorageClassName { get; init; }

    /// <summary>Size of a new claim.</summary>
    [Field("Size of the claim the operator creates (a quantity such as 10Gi).", Pattern = ApiPatterns.NonNegativeQuantity, PatternHint = "a non-negative quantity such as 10Gi", MaxLength = 64)]
    public string? Size { get; init; }

    /// <summary>What happens to the job's checkpoints when the job is deleted; see <see cref="EffectiveOnDelete"/>.</summary>
    [Field("What happens to the checkpoints when the job is deleted. Delete (the default for a claim the operator creates): " +
        "the claim goes with the job; for an existing claim, the job's directory in it is emptied by a cleanup pod before the job goes. " +
        "Retain (the default for an existing claim): the job's directory stays; a claim the operator created outlives the job " +
        "(a job of the same name created again resumes from it).")]
    public CheckpointRetention? OnDelete { get; init; }

    /// <summary>The policy in force: <see cref="OnDelete"/>, else Delete for a claim the operator creates and Retain for an existing one.</summary>
    [JsonIgnore]
    public CheckpointRetention EffectiveOnDelete => OnDelete ?? (ClaimName is null ? CheckpointRetention.Delete : CheckpointRetention.Retain);
}

/// <summary>What happens to a job's checkpoints when the job is deleted.</summary>
public enum CheckpointRetention
{
    /// <summary>Keep them: an existing claim's job directory stays, a created claim outlives the job.</summary>
    Retain,

    /// <summary>Remove them: a created claim is deleted with the job, an existing claim's job directory is emptied.</summary>
    Delete,
}
