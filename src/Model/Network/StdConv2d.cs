using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BiT.Model;

/// <summary>
/// A bias-free convolution whose kernel is weight-standardised on every call: per output channel, over
/// (in, kh, kw), <c>w' = (w - mean) / sqrt(var + 1e-10)</c> with the biased variance, as in the BiT reference.
/// </summary>
public sealed class StdConv2d : nn.Module<Tensor, Tensor>
{
    /// <summary>The epsilon of the reference code (timm uses 1e-8; the two agree to float noise).</summary>
    public const double Epsilon = 1e-10;

    private static readonly long[] KernelDims = [1, 2, 3];

    // Held, not converted implicitly per call (and the alpha of add_ held too, HeldScalars.One): TorchSharp lets an
    // implicitly converted Scalar be finalized while
    // libtorch still reads it ("Unknown scalar type" under GC pressure).
    private static readonly Scalar EpsilonScalar = Epsilon.ToScalar();

    private readonly Parameter _weight;
    private readonly long[] _stride;
    private readonly long[] _padding;
    private readonly bool _pointwise;

    /// <summary>Creates the convolution with PyTorch's default (Kaiming-uniform) initialisation.</summary>
    public StdConv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0)
        : base(nameof(StdConv2d))
    {
        _weight = new Parameter(empty(outChannels, inChannels, kernelSize, kernelSize));
        nn.init.kaiming_uniform_(_weight, a: Math.Sqrt(5));
        register_parameter("weight", _weight);
        _stride = [stride, stride];
        _padding = [padding, padding];
        _pointwise = kernelSize == 1 && padding == 0;
    }

    /// <summary>The raw (unstandardised) kernel, OIHW.</summary>
    public Parameter Weight => _weight;

    /// <summary>Weight standardisation of an OIHW kernel.</summary>
    public static Tensor Standardize(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        using var scope = NewDisposeScope();
        // Two passes (mean, then mean of squared deviations) rather than var_mean: as accurate, and it has meta-device
        // kernels, so shapes of the largest variants can be checked without allocating them.
        var centered = weight - weight.mean(KernelDims, keepdim: true);
        var variance = (centered * centered).mean(KernelDims, keepdim: true);
        var standardized = centered * variance.add_(EpsilonScalar, HeldScalars.One).rsqrt_();
        return standardized.MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        // Standardised in float32 (the master weights' precision), then cast to the input's (bf16 compute).
        var kernel = Standardize(_weight);
        if (kernel.dtype != input.dtype)
        {
            kernel = kernel.to(input.dtype);
        }

        var output = _pointwise && input.device_type == DeviceType.CPU
            ? Pointwise(input, kernel, _stride[0])
            : nn.functional.conv2d(input, kernel, null, _stride, _padding);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>A 1x1 convolution as a matrix product: [N, H, W, C] x [O, C]^T, returned as an NCHW view of NHWC.</summary>
    private static Tensor Pointwise(Tensor input, Tensor kernel, long stride)
    {
        var x = stride == 1 ? input : input.slice(2, 0, input.shape[2], stride).slice(3, 0, input.shape[3], stride);
        return nn.functional.linear(x.permute(0, 2, 3, 1), kernel.flatten(1)).permute(0, 3, 1, 2);
    }
}
