using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Model;

/// <summary>
/// A pre-activation bottleneck unit (ResNet-v2): <c>a = relu(gn1(x))</c>; the shortcut is <c>proj(a)</c> on the
/// first unit of a stage and <c>x</c> otherwise; then 1x1 conv, relu(gn2), 3x3 conv carrying the stride,
/// relu(gn3), 1x1 conv, plus the shortcut. Module names (gn1, conv1, ..., downsample) map onto checkpoint keys.
/// </summary>
public sealed class PreActBottleneck : nn.Module<Tensor, Tensor>
{
    private readonly GroupNorm32 _gn1;
    private readonly StdConv2d _conv1;
    private readonly GroupNorm32 _gn2;
    private readonly StdConv2d _conv2;
    private readonly GroupNorm32 _gn3;
    private readonly StdConv2d _conv3;
    private readonly StdConv2d? _downsample;

    /// <summary>Creates a unit; <paramref name="projection"/> adds the 1x1 projection shortcut.</summary>
    public PreActBottleneck(long inChannels, long midChannels, long outChannels, long stride, bool projection)
        : base(nameof(PreActBottleneck))
    {
        _gn1 = new GroupNorm32(inChannels, relu: true);
        _conv1 = new StdConv2d(inChannels, midChannels, 1);
        _gn2 = new GroupNorm32(midChannels, relu: true);
        _conv2 = new StdConv2d(midChannels, midChannels, 3, stride: stride, padding: 1);
        _gn3 = new GroupNorm32(midChannels, relu: true);
        _conv3 = new StdConv2d(midChannels, outChannels, 1);
        register_module("gn1", _gn1);
        register_module("conv1", _conv1);
        register_module("gn2", _gn2);
        register_module("conv2", _conv2);
        register_module("gn3", _gn3);
        register_module("conv3", _conv3);
        if (projection)
        {
            _downsample = new StdConv2d(inChannels, outChannels, 1, stride: stride);
            register_module("downsample", _downsample);
        }
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var preact = _gn1.call(input); // relu(gn1(x)): the ReLUs are the GroupNorms' own (GroupNorm32.Relu)
        var shortcut = _downsample is null ? input : _downsample.call(preact);
        var x = _conv1.call(preact);
        x = _conv2.call(_gn2.call(x));
        x = _conv3.call(_gn3.call(x));
        return x.add(shortcut, HeldScalars.One).MoveToOuterDisposeScope();
    }
}
