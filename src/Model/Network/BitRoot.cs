using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Model;

/// <summary>
/// The root: 7x7 stride-2 StdConv (padding 3), constant zero padding of 1, then a 3x3 stride-2 max-pool with no
/// padding. Zero padding before the pool is not the same as a padded pool (which pads with -inf); the reference
/// does the former. No norm or ReLU here: the first unit's pre-activation provides them.
/// </summary>
public sealed class BitRoot : nn.Module<Tensor, Tensor>
{
    private static readonly long[] PoolKernel = [3, 3];
    private static readonly long[] PoolStride = [2, 2];
    private static readonly long[] ZeroPad = [1, 1, 1, 1];

    private readonly StdConv2d _conv;

    /// <summary>Creates the root with <paramref name="outChannels"/> (64·w) channels.</summary>
    public BitRoot(long outChannels)
        : base(nameof(BitRoot))
    {
        _conv = new StdConv2d(3, outChannels, 7, stride: 2, padding: 3);
        register_module("conv", _conv);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = _conv.call(input);
        x = nn.functional.pad(x, ZeroPad, PaddingModes.Constant, 0);
        x = nn.functional.max_pool2d(x, PoolKernel, PoolStride);
        return x.MoveToOuterDisposeScope();
    }
}
