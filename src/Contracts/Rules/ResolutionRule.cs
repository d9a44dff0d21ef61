using System.Text.Json.Serialization;

namespace BiT.Contracts.Rules;

/// <summary>Which image resolution the HyperRule picks for images of at least 96x96 pixels.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ResolutionRule>))]
public enum ResolutionRule
{
    /// <summary>The reference code's choice: precrop 512, crop 480. The default.</summary>
    Reference,

    /// <summary>The paper's text: precrop 448, crop 384 (the paper keeps 512/480 for R152x4 only).</summary>
    Paper,
}
