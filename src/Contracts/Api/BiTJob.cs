using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>What both job kinds have; only <see cref="Kind"/> differs.</summary>
public abstract record BiTJob
{
    /// <summary>bit.training/v1alpha1.</summary>
    [JsonPropertyName("apiVersion")]
    [Field("bit.training/v1alpha1.")]
    public string ApiVersion { get; init; } = ApiInfo.ApiVersion;

    /// <summary>BiTFineTuneJob or BiTPretrainJob.</summary>
    [JsonPropertyName("kind")]
    [Field("The kind.")]
    public string Kind { get; init; } = "";

    /// <summary>Name, namespace, uid and friends.</summary>
    [JsonPropertyName("metadata")]
    [Field("Standard object metadata.", Required = true)]
    public ObjectMeta Metadata { get; init; } = new();

    /// <summary>Desired state.</summary>
    [JsonPropertyName("spec")]
    [Field("Desired state.", Required = true)]
    public BiTJobSpec Spec { get; init; } = new();

    /// <summary>Observed state.</summary>
    [JsonPropertyName("status")]
    [Field("Observed state.")]
    public BiTJobStatus? Status { get; init; }

    /// <summary>True for a BiTPretrainJob.</summary>
    [JsonIgnore]
    public bool IsPretrain => Kind == ApiInfo.PretrainKind;
}
