using System.Text.Json.Serialization;

namespace BiT.Contracts.Rules;

/// <summary>The classification loss of a run.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LossFunction>))]
public enum LossFunction
{
    /// <summary>Softmax cross-entropy (ILSVRC-2012 upstream, and every fine-tuning run).</summary>
    Softmax,

    /// <summary>Sigmoid cross-entropy per class, as the authors used on the multi-label-ish ImageNet-21k.</summary>
    Sigmoid,
}
