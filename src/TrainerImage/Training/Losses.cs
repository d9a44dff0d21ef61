using BiT.Contracts.Rules;
using static TorchSharp.torch;

namespace BiT.Trainer.Training;

public static class Losses
{
    /// <summary>Mean over the batch of softmax cross-entropy, or of per-class sigmoid cross-entropy summed over classes.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, LossFunction loss, int numClasses) => loss switch
    {
        LossFunction.Softmax => nn.functional.cross_entropy(logits, labels),
        LossFunction.Sigmoid => nn.functional.binary_cross_entropy_with_logits(
            logits, nn.functional.one_hot(labels, numClasses).to_type(logits.dtype), reduction: nn.Reduction.None).sum(1).mean(),
        _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, "unknown loss"),
    };
}
