using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BiT.Model;

/// <summary>
/// The head: GroupNorm(32) + ReLU over the final features, global average pool, then a 1x1 convolution with bias
/// (a dense layer) to the classes. Initialised to zero, as BiT does for every new downstream head. Logits are
/// always float32, whatever the compute precision.
/// </summary>
public sealed class BitHead : nn.Module<Tensor, Tensor>
{
    private static readonly long[] SpatialDims = [2, 3];

    private readonly GroupNorm32 _gn;
    private readonly Conv2d _conv;

    /// <summary>Creates a zero-initialised head from <paramref name="inChannels"/> features to <paramref name="classes"/>.</summary>
    public BitHead(long inChannels, long classes)
        : base(nameof(BitHead))
    {
        _gn = new GroupNorm32(inChannels, relu: true);
        _conv = nn.Conv2d(inChannels, classes, 1, bias: true);
        register_module("gn", _gn);
        register_module("conv", _conv);
        ZeroClassifier();
    }

    /// <summary>Sets the classifier's weights and bias to zero (a fresh fine-tuning head).</summary>
    public void ZeroClassifier()
    {
        using var noGrad = no_grad();
        _conv.weight!.zero_();
        _conv.bias!.zero_();
    }

    /// <summary>Returns float32 logits of shape [N, classes].</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = _gn.call(input); // relu(gn(x)) (GroupNorm32.Relu)
        // The pooled features are tiny; the classifier runs in float32 so that logits keep full precision.
        x = x.mean(SpatialDims, keepdim: true).to(ScalarType.Float32);
        // The 1x1 convolution over a 1x1 map as the matrix product it is (same weights and sums), which also keeps
        // it out of oneDNN's 1x1 backward (Native/CpuKernels.cs).
        x = nn.functional.linear(x.flatten(1), _conv.weight!.flatten(1), _conv.bias);
        return x.MoveToOuterDisposeScope();
    }
}
