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

    /// <summary>
    /// Creates the layer for <paramref name="channels"/> channels (a multiple of 32); with <paramref name="relu"/> it
    /// returns relu(GroupNorm(x)), which the native kernels compute in the same pass.
    /// </summary>
    public GroupNorm32(long channels, bool relu = false)
        : base(nameof(GroupNorm32))
    {
        Relu = relu;
        _weight = new Parameter(ones(channels));
        _bias = new Parameter(zeros(channels));
        register_parameter("weight", _weight);
        register_parameter("bias", _bias);
    }

    /// <summary>Whether the layer applies a ReLU after the normalisation.</summary>
    public bool Relu { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        if (NativeGroupNorm.Applies(input, _weight, _bias, BitArchitecture.Groups))
        {
            return NativeGroupNorm.GroupNorm(input, _weight, _bias, BitArchitecture.Groups, Epsilon, Relu);
        }
        using var scope = NewDisposeScope();
        var weight = _weight.dtype == input.dtype ? (Tensor)_weight : _weight.to(input.dtype);
        var bias = _bias.dtype == input.dtype ? (Tensor)_bias : _bias.to(input.dtype);
        var y = nn.functional.group_norm(input, BitArchitecture.Groups, weight, bias, Epsilon);
        return (Relu ? nn.functional.relu(y) : y).MoveToOuterDisposeScope();
    }
}
