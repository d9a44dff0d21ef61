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

    private readonly Parameter _weight;
    private readonly long[] _stride;
    private readonly long[] _padding;

    /// <summary>Creates the convolution with PyTorch's default (Kaiming-uniform) initialisation.</summary>
    public StdConv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0)
        : base(nameof(StdConv2d))
    {
        // libtorch's CPU convolution kernels are chosen before any convolution can run (Native/CpuKernels.cs).
        Native.CpuKernels.EnsureConfigured();
        _weight = new Parameter(empty(outChannels, inChannels, kernelSize, kernelSize));
        nn.init.kaiming_uniform_(_weight, a: Math.Sqrt(5));
        register_parameter("weight", _weight);
        _stride = [stride, stride];
        _padding = [padding, padding];
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
        var variance = centered.square().mean(KernelDims, keepdim: true);
        var standardized = centered * (variance + Epsilon).rsqrt_();
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

        var output = nn.functional.conv2d(input, kernel, null, _stride, _padding);
        return output.MoveToOuterDisposeScope();
    }
}
