using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>The part of metav1.ObjectMeta the jobs use. Other fields the API server sends are ignored on read.</summary>
public sealed record ObjectMeta
{
    /// <summary>
    /// The longest job name: 253 (a DNS subdomain) less the longest suffix of a name derived from it, the plan
    /// ConfigMap's <c>-plan-</c> and ten hex digits; the pod (<c>-run-10001</c>), the claim (<c>-checkpoints</c>) and
    /// the service account (<c>-trainer</c>) are shorter.
    /// </summary>
    public const int MaxNameLength = 253 - 16;

    /// <summary>Object name.</summary>
    [Field("Name of the job.", Required = true, Pattern = ApiPatterns.DnsSubdomain, PatternHint = "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')", MaxLength = MaxNameLength)]
    public string? Name { get; init; }

    /// <summary>Namespace; empty locally.</summary>
    [Field("Namespace of the job.", Pattern = ApiPatterns.DnsLabel, PatternHint = "a DNS-1123 label", MaxLength = 63)]
    public string? Namespace { get; init; }

    /// <summary>Server-assigned unique id.</summary>
    [Field("Unique id assigned by the API server.")]
    public string? Uid { get; init; }

    /// <summary>Spec generation, bumped by the API server on every spec change.</summary>
    [Field("Generation of the spec.")]
    public long? Generation { get; init; }

    /// <summary>Optimistic-concurrency token.</summary>
    [Field("Resource version for optimistic concurrency.")]
    public string? ResourceVersion { get; init; }

    /// <summary>When the object was created.</summary>
    [JsonConverter(typeof(KubeTimeJsonConverter))]
    [Field("Creation time.", Format = "date-time")]
    public DateTimeOffset? CreationTimestamp { get; init; }

    /// <summary>Set when deletion was requested and finalizers are pending.</summary>
    [JsonConverter(typeof(KubeTimeJsonConverter))]
    [Field("Deletion request time.", Format = "date-time")]
    public DateTimeOffset? DeletionTimestamp { get; init; }

    /// <summary>Labels.</summary>
    [Field("Labels.")]
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>Annotations.</summary>
    [Field("Annotations.")]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    /// <summary>Finalizers.</summary>
    [Field("Finalizers.")]
    public IReadOnlyList<string>? Finalizers { get; init; }

    /// <summary>Owners.</summary>
    [Field("Owners of this object.")]
    public IReadOnlyList<OwnerReference>? OwnerReferences { get; init; }
}

/// <summary>metav1.OwnerReference.</summary>
public sealed record OwnerReference
{
    /// <summary>Owner's apiVersion.</summary>
    [Field("API version of the owner.", Required = true)]
    public string ApiVersion { get; init; } = "";

    /// <summary>Owner's kind.</summary>
    [Field("Kind of the owner.", Required = true)]
    public string Kind { get; init; } = "";

    /// <summary>Owner's name.</summary>
    [Field("Name of the owner.", Required = true)]
    public string Name { get; init; } = "";

    /// <summary>Owner's uid.</summary>
    [Field("UID of the owner.", Required = true)]
    public string Uid { get; init; } = "";

    /// <summary>The managing controller.</summary>
    [Field("True for the managing controller.")]
    public bool? Controller { get; init; }

    /// <summary>Foreground deletion waits for this object.</summary>
    [Field("Foreground deletion of the owner waits for this object.")]
    public bool? BlockOwnerDeletion { get; init; }
}
