using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>Scheduling and resources of the trainer pod. Used by the operator; ignored locally.</summary>
[Field("Resources and scheduling of the trainer pod (used by the operator, ignored locally).")]
public sealed record ResourcesSpec
{
    /// <summary>Most pods (workers) of one job.</summary>
    public const int MaxWorkers = 64;

    /// <summary>nvidia.com/gpu count, per pod.</summary>
    [Field("GPUs (nvidia.com/gpu) requested per pod; a GPU pod runs one trainer process (rank) per GPU.", Minimum = 0, Maximum = 64)]
    public int? Gpus { get; init; }

    /// <summary>Pods of the job (data-parallel workers); world size = workers x processes per pod.</summary>
    [Field("Pods of the job (default 1), started and restarted together as one gang; world size = workers x processes per pod (docs/distributed.md).", Minimum = 1, Maximum = MaxWorkers)]
    public int? Workers { get; init; }

    /// <summary>Trainer processes (ranks) in each CPU pod; a GPU pod runs one per GPU.</summary>
    [Field("Trainer processes (ranks) per CPU pod (default 1); a GPU pod runs one per GPU and takes no other value.", Minimum = 1, Maximum = 64)]
    public int? ProcessesPerWorker { get; init; }

    /// <summary>The pods' scheduler (a gang scheduler such as Volcano's or the coscheduling plugin's).</summary>
    [Field("spec.schedulerName of the pods, e.g. a gang scheduler (volcano, scheduler-plugins-scheduler); default: the cluster's.", Pattern = ApiPatterns.DnsSubdomainOrEmpty, PatternHint = "a DNS-1123 subdomain", MaxLength = 253)]
    public string? SchedulerName { get; init; }

    /// <summary>A PodGroup for a gang scheduler, made by the operator for each attempt.</summary>
    [Field("Create a PodGroup for each attempt so a gang scheduler places the pods all or nothing: Coscheduling (scheduling.x-k8s.io/v1alpha1, the scheduler-plugins coscheduling plugin) or Volcano (scheduling.volcano.sh/v1beta1). Default: none.", Pattern = "^(Coscheduling|Volcano)?$", PatternHint = "Coscheduling or Volcano", MaxLength = 12)]
    public string? PodGroup { get; init; }

    /// <summary>Processes per pod: one per GPU, else processesPerWorker (default 1).</summary>
    [JsonIgnore]
    public int ProcessesPerPod => Gpus is > 0 and var g ? g : ProcessesPerWorker ?? 1;

    /// <summary>Ranks of the job: workers x processes per pod.</summary>
    [JsonIgnore]
    public int WorldSize => (Workers ?? 1) * ProcessesPerPod;

    /// <summary>CPU request/limit quantity.</summary>
    [JsonConverter(typeof(IntOrStringJsonConverter))]
    [Field("CPU quantity (8, 500m).", Pattern = ApiPatterns.NonNegativeQuantity, PatternHint = "a non-negative quantity such as 8 or 500m", IntOrString = true, MaxLength = 64)]
    public string? Cpu { get; init; }

    /// <summary>Memory quantity.</summary>
    [JsonConverter(typeof(IntOrStringJsonConverter))]
    [Field("Memory quantity (32Gi).", Pattern = ApiPatterns.NonNegativeQuantity, PatternHint = "a non-negative quantity such as 32Gi", IntOrString = true, MaxLength = 64)]
    public string? Memory { get; init; }

    /// <summary>Node selector.</summary>
    /// <remarks>
    /// Values are bounded by the schema (maxLength + pattern on additionalProperties, no CEL: the CEL rule this had
    /// over values without maxLength was estimated at 25 times a real API server's per-rule budget), keys only by
    /// <c>SpecValidator</c>: no structural schema can bound a map key, so a key rule's cost rests on an estimator
    /// quirk (docs/reliability.md, "CEL cost").
    /// </remarks>
    [Field("Node selector of the pod. Keys must be label keys (checked by the operator: Validated=False otherwise), values label values.", MaxItems = 64, ValueMaxLength = 63, ValuePattern = ApiPatterns.LabelValue)]
    public IReadOnlyDictionary<string, string>? NodeSelector { get; init; }

    /// <summary>Tolerations.</summary>
    [Field("Tolerations of the pod.", MaxItems = 32)]
    public IReadOnlyList<Toleration>? Tolerations { get; init; }

    /// <summary>Priority class.</summary>
    [Field("Priority class of the pod.", Pattern = ApiPatterns.DnsSubdomainOrEmpty, PatternHint = "a DNS-1123 subdomain", MaxLength = 253)]
    public string? PriorityClassName { get; init; }
}

/// <summary>core/v1 Toleration.</summary>
[Field("A pod toleration.")]
public sealed record Toleration
{
    /// <summary>Taint key.</summary>
    [Field("Taint key; empty with operator Exists matches every taint.", MaxLength = 317, Pattern = "^$|" + ApiPatterns.LabelKey, PatternHint = "a label key such as nvidia.com/gpu")]
    public string? Key { get; init; }

    /// <summary>Exists or Equal.</summary>
    [Field("Exists or Equal (default Equal).", Pattern = "^(Exists|Equal)$", PatternHint = "Exists or Equal", MaxLength = 16)]
    public string? Operator { get; init; }

    /// <summary>Taint value.</summary>
    [Field("Taint value.", MaxLength = 63, Pattern = ApiPatterns.LabelValue, PatternHint = "a label value (alphanumeric at both ends; '-', '_', '.' inside)")]
    public string? Value { get; init; }

    /// <summary>Taint effect.</summary>
    [Field("NoSchedule, PreferNoSchedule or NoExecute; empty matches all.", Pattern = "^(NoSchedule|PreferNoSchedule|NoExecute)?$", PatternHint = "NoSchedule, PreferNoSchedule or NoExecute", MaxLength = 16)]
    public string? Effect { get; init; }

    /// <summary>NoExecute grace.</summary>
    [Field("How long a NoExecute taint is tolerated.", Minimum = 0, Maximum = 315_360_000)]
    public long? TolerationSeconds { get; init; }
}
