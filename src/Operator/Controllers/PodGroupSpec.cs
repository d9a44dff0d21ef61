using System.Text.Json.Serialization;

namespace BiT.Operator.Controllers;

/// <summary>The part of a PodGroup's spec both gang schedulers read.</summary>
public sealed class PodGroupSpec
{
    [JsonPropertyName("minMember")]
    public int MinMember { get; set; }
}
