using BiT.Model.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BiT.Model;

/// <summary>
/// GroupNorm with 32 groups, eps 1e-5 and a per-channel scale (<c>weight</c>, starts at 1) and shift (<c>bias</c>,
/// starts at 0). The affine parameters stay float32 and are cast to the input's precision on the fly, so bf16
/// compute keeps float32 master weights. Float32 CPU input in NCHW or channels-last runs the native kernels of
/// <see cref="NativeGroupNorm"/> (<c>BIT_NATIVE_GROUPNORM=0</c> turns them off); everything else runs libtorch's.
/// </summary>
public sealed class GroupNorm32 : nn.Module<Tensor, Tensor>
{
    /// <summary>The epsilon of the reference.</summary>
    public const double Epsilon = 1e-5;

    private readonly Parameter _weight;
    private readonly Parameter _bias;

    /// <summary>Creates the layer for <paramref name="channels"/> channels (a multiple of 32).</summary>
    public GroupNorm32(long channels)
        : base(nameof(GroupNorm32))
    {
        _weight = new Parameter(ones(channels));
        _bias = new Parameter(zeros(channels));
        register_parameter("weight", _weight);
        register_parameter("bias", _bias);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        if (NativeGroupNorm.Applies(input, _weight, _bias, BitArchitecture.Groups))
        {
            return NativeGroupNorm.GroupNorm(input, _weight, _bias, BitArchitecture.Groups, Epsilon);
        }
        using var scope = NewDisposeScope();
        var weight = _weight.dtype == input.dtype ? (Tensor)_weight : _weight.to(input.dtype);
        var bias = _bias.dtype == input.dtype ? (Tensor)_bias : _bias.to(input.dtype);
        return nn.functional.group_norm(input, BitArchitecture.Groups, weight, bias, Epsilon).MoveToOuterDisposeScope();
    }
}
