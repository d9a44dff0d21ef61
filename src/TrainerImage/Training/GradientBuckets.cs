using static TorchSharp.torch;

namespace BiT.Trainer.Training;

/// <summary>PyTorch DDP's bucketing of gradients for the all-reduce, shared by the Gloo and NCCL paths.</summary>
public static class GradientBuckets
{
    /// <summary>
    /// Consecutive runs <c>[First, End)</c> of <paramref name="grads"/>, each of at most <paramref name="bucketFloats"/>
    /// elements (a larger gradient goes alone), with their element count.
    /// </summary>
    public static IEnumerable<(int First, int End, long Floats)> Consecutive(IReadOnlyList<Tensor> grads, long bucketFloats)
    {
        var i = 0;
        while (i < grads.Count)
        {
            var first = i;
            long floats = 0;
            do
            {
                floats += grads[i].numel();
                i++;
            }
            while (i < grads.Count && floats + grads[i].numel() <= bucketFloats);
            yield return (first, i, floats);
        }
    }
}
