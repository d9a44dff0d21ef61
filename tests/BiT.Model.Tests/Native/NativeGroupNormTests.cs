using BiT.Model.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Model.Tests.Native;

/// <summary>
/// The native GroupNorm kernels (Native/gn/bitgn.c via NativeGroupNorm) against libtorch's group_norm: forward and
/// the three gradients in both layouts, the fallbacks, bitwise repeatability and a whole network.
/// </summary>
public sealed class NativeGroupNormTests
{
    private const int Groups = BitArchitecture.Groups;

    public static TheoryData<int, int, int, int, bool> Shapes()
    {
        var data = new TheoryData<int, int, int, int, bool>();
        foreach (var channels in new[] { 32, 64, 256, 2048 })
        {
            foreach (var (h, w) in new[] { (1, 1), (3, 5), (32, 32) })
            {
                foreach (var batch in new[] { 1, 3, 8 })
                {
                    // Keep each case to a few million values so the theory stays within seconds on two cores.
                    if ((long)channels * h * w * batch > 4_000_000)
                    {
                        continue;
                    }
                    data.Add(batch, channels, h, w, false);
                    data.Add(batch, channels, h, w, true);
                }
            }
        }
        return data;
    }

    [Fact]
    public void The_library_is_built_and_loaded_on_this_host()
    {
        // The test host builds with gcc, as CI and the trainer image do; a host without a compiler falls back instead.
        Assert.True(NativeGroupNorm.IsAvailable, NativeGroupNorm.Description());
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_and_gradients_match_libtorch(int batch, int channels, int h, int w, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(batch * 1000 + channels + h * 7 + w);
        var x = randn(batch, channels, h, w) * 3 + 0.5;
        var weight = rand(channels) + 0.5;
        var bias = randn(channels);
        var upstream = randn(batch, channels, h, w);
        var input = channelsLast ? ToChannelsLast(x) : x;
        NativeGroupNorm.ThreadOverride = NativeGroupNorm.Mode.All;
        try
        {
            Assert.Equal(NativeGroupNorm.IsAvailable, NativeGroupNorm.Applies(input, weight, bias, Groups));
        }
        finally
        {
            NativeGroupNorm.ThreadOverride = null;
        }

        var native = Run(input, weight, bias, upstream, useNative: true);
        var libtorch = Run(input, weight, bias, upstream, useNative: false);
        var reference = Reference(x, weight, bias, upstream);

        // Held to 1e-4 of each tensor's scale, or to no worse than twice libtorch's own float32 error where the
        // case is ill-conditioned (1x1 maps: groups of one or two values, whose variance is near zero).
        AssertClose(reference.Y, native.Y, "y", floor: Error(reference.Y, libtorch.Y));
        AssertClose(reference.Dx, native.Dx, "dx", floor: Error(reference.Dx, libtorch.Dx));
        AssertClose(reference.Dweight, native.Dweight, "dweight", floor: Error(reference.Dweight, libtorch.Dweight));
        AssertClose(reference.Dbias, native.Dbias, "dbias", floor: Error(reference.Dbias, libtorch.Dbias));
        if (channelsLast && h * w > 1)
        {
            Assert.Equal(NativeGroupNorm.Layout.Nhwc, NativeGroupNorm.LayoutOf(native.Y));
        }
    }

    [Theory]
    [InlineData(3, 64, 7, 9, false)]
    [InlineData(3, 64, 7, 9, true)]
    [InlineData(8, 256, 8, 8, true)]
    [InlineData(2, 2048, 1, 1, true)]
    [InlineData(1, 32, 32, 32, false)]
    public void The_fused_relu_matches_relu_of_libtorch(int batch, int channels, int h, int w, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(batch * 31 + channels + h);
        var x = randn(batch, channels, h, w) * 2;
        var weight = rand(channels) + 0.5;
        var bias = randn(channels);
        var upstream = randn(batch, channels, h, w);
        var input = channelsLast ? ToChannelsLast(x) : x;

        var native = Run(input, weight, bias, upstream, useNative: true, relu: true);
        var libtorch = Run(input, weight, bias, upstream, useNative: false, relu: true);
        Assert.True(native.Y.min().item<float>() >= 0);
        // The float64 reference takes the mask from the output under test: where y is within rounding of 0 either
        // side is right, and the gradient there differs by a whole dy.
        var reference = Reference(x, weight, bias, upstream * native.Y.gt(0).to(ScalarType.Float32));
        var want = nn.functional.relu(reference.Y);
        AssertClose(want, native.Y, "y");
        AssertClose(reference.Dx, native.Dx, "dx", floor: Error(reference.Dx, libtorch.Dx));
        AssertClose(reference.Dweight, native.Dweight, "dweight", floor: Error(reference.Dweight, libtorch.Dweight));
        AssertClose(reference.Dbias, native.Dbias, "dbias", floor: Error(reference.Dbias, libtorch.Dbias));
    }

    [Fact]
    public void A_large_mean_does_not_cancel_the_variance_away()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var x = randn(2, 64, 8, 8) * 0.01 + 300;
        var weight = ones(64);
        var bias = zeros(64);
        var upstream = randn(2, 64, 8, 8);
        var native = Run(ToChannelsLast(x), weight, bias, upstream, useNative: true);
        var reference = Reference(x, weight, bias, upstream);
        // float32 itself holds 300.01 to about 3e-5, i.e. 0.3 % of the standard deviation.
        AssertClose(reference.Y, native.Y, "y", tolerance: 1e-2);
        AssertClose(reference.Dx, native.Dx, "dx", tolerance: 1e-2);
    }

    [Fact]
    public void By_default_channels_last_goes_native_and_nchw_to_libtorch()
    {
        using var scope = NewDisposeScope();
        var weight = ones(64);
        var bias = zeros(64);
        var nchw = randn(2, 64, 5, 5);
        var channelsLast = ToChannelsLast(nchw);
        var map1x1 = randn(2, 64, 1, 1);
        Assert.Equal(NativeGroupNorm.Mode.ChannelsLast, NativeGroupNorm.ModeBySetting(null));
        Assert.Equal(NativeGroupNorm.Mode.ChannelsLast, NativeGroupNorm.ModeBySetting("1"));
        Assert.Equal(NativeGroupNorm.Mode.Off, NativeGroupNorm.ModeBySetting("0"));
        Assert.Equal(NativeGroupNorm.Mode.Off, NativeGroupNorm.ModeBySetting(" OFF "));
        Assert.Equal(NativeGroupNorm.Mode.All, NativeGroupNorm.ModeBySetting("all"));
        NativeGroupNorm.ThreadOverride = NativeGroupNorm.Mode.ChannelsLast;
        try
        {
            Assert.True(NativeGroupNorm.Applies(channelsLast, weight, bias, Groups));
            Assert.True(NativeGroupNorm.Applies(map1x1, weight, bias, Groups));
            Assert.False(NativeGroupNorm.Applies(nchw, weight, bias, Groups));
        }
        finally
        {
            NativeGroupNorm.ThreadOverride = null;
        }
    }

    [Fact]
    public void Two_runs_are_bitwise_equal()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(11);
        var x = ToChannelsLast(randn(3, 256, 9, 7));
        var weight = rand(256);
        var bias = randn(256);
        var upstream = randn(3, 256, 9, 7);
        var first = Run(x, weight, bias, upstream, useNative: true);
        var second = Run(x, weight, bias, upstream, useNative: true);
        AssertBitwiseEqual(first, second);
    }

    [Fact]
    public void The_thread_count_does_not_change_a_bit()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(12);
        // Batch 1: one thread takes all 32 groups, four threads take them in eight-group slabs.
        var x = ToChannelsLast(randn(1, 512, 6, 6));
        var weight = rand(512);
        var bias = randn(512);
        var upstream = randn(1, 512, 6, 6);
        var before = get_num_threads();
        try
        {
            set_num_threads(1);
            var one = Run(x, weight, bias, upstream, useNative: true, relu: true);
            set_num_threads(4);
            var four = Run(x, weight, bias, upstream, useNative: true, relu: true);
            AssertBitwiseEqual(one, four);
        }
        finally
        {
            set_num_threads(before);
        }
    }

    [Fact]
    public void Bf16_non_contiguous_and_non_4d_inputs_go_to_libtorch()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var weight = rand(64) + 0.5;
        var bias = randn(64);

        var bf16 = randn(2, 64, 4, 4).to(ScalarType.BFloat16);
        Assert.False(NativeGroupNorm.Applies(bf16, weight, bias, Groups));
        var transposed = randn(2, 64, 4, 6).transpose(2, 3);
        Assert.Equal(NativeGroupNorm.Layout.Other, NativeGroupNorm.LayoutOf(transposed));
        Assert.False(NativeGroupNorm.Applies(transposed, weight, bias, Groups));
        var flat = randn(4, 64);
        var sequence = randn(4, 64, 10);
        Assert.False(NativeGroupNorm.Applies(flat, weight, bias, Groups));
        Assert.False(NativeGroupNorm.Applies(sequence, weight, bias, Groups));

        foreach (var input in new[] { bf16, transposed, flat, sequence })
        {
            var upstream = randn(input.shape).to(input.dtype);
            var got = Run(input, weight, bias, upstream, useNative: true);
            var want = Run(input, weight, bias, upstream, useNative: false);
            // Both went through libtorch: the same kernels, the same numbers.
            Assert.True(Same(got.Y, want.Y));
            Assert.True(Same(got.Dx, want.Dx));
            Assert.True(Same(got.Dweight, want.Dweight));
        }
    }

    [Fact]
    public void No_grad_forward_matches_and_records_nothing()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        var x = ToChannelsLast(randn(2, 128, 5, 5));
        using var gn = new GroupNorm32(128);
        NativeGroupNorm.ThreadOverride = NativeGroupNorm.Mode.All;
        try
        {
            using var noGrad = no_grad();
            var y = gn.call(x);
            Assert.False(y.requires_grad);
            var want = nn.functional.group_norm(x, Groups, ones(128), zeros(128), GroupNorm32.Epsilon);
            AssertClose(want, y, "y");
        }
        finally
        {
            NativeGroupNorm.ThreadOverride = null;
        }
    }

    [Fact]
    public void A_channels_last_network_trains_alike_on_both_paths()
    {
        using var scope = NewDisposeScope();
        using var model = BitResNet.Create(BitArchitecture.Custom([1, 1, 1, 1], 0.5), 7, seed: 21);
        model.ChannelsLast = true;
        using (no_grad())
        {
            // The head starts at zero, which would leave every gradient below it zero.
            foreach (var (name, p) in model.named_parameters())
            {
                if (name.StartsWith("head.conv", StringComparison.Ordinal))
                {
                    p.normal_(0, 0.1);
                }
            }
        }
        random.manual_seed(22);
        var images = randn(3, 3, 48, 48);
        var labels = tensor(new long[] { 0, 3, 6 });

        Dictionary<string, Tensor> Step(bool useNative)
        {
            NativeGroupNorm.ThreadOverride = useNative ? NativeGroupNorm.Mode.All : NativeGroupNorm.Mode.Off;
            try
            {
                model.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(images), labels);
                loss.backward();
                var result = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
                result["loss"] = loss.detach().reshape(1);
                return result;
            }
            finally
            {
                NativeGroupNorm.ThreadOverride = null;
            }
        }

        var native = Step(useNative: true);
        var libtorch = Step(useNative: false);
        Assert.True(native.Count > 20);
        foreach (var (name, want) in libtorch)
        {
            AssertClose(want, native[name], name, tolerance: 1e-3);
        }
    }

    private static Tensor ToChannelsLast(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    private sealed record Result(Tensor Y, Tensor Dx, Tensor Dweight, Tensor Dbias);

    /// <summary>GroupNorm32 on a copy of <paramref name="input"/> (its layout kept), with gradients of sum(y * upstream).</summary>
    private static Result Run(Tensor input, Tensor weight, Tensor bias, Tensor upstream, bool useNative, bool relu = false)
    {
        NativeGroupNorm.ThreadOverride = useNative ? NativeGroupNorm.Mode.All : NativeGroupNorm.Mode.Off;
        try
        {
            using var gn = new GroupNorm32(input.shape[1], relu);
            var parameters = gn.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            using (no_grad())
            {
                parameters["weight"].copy_(weight);
                parameters["bias"].copy_(bias);
            }
            var x = input.detach().clone();
            if (input.dim() == 4 && NativeGroupNorm.LayoutOf(input) == NativeGroupNorm.Layout.Nhwc)
            {
                x = ToChannelsLast(input.detach());
            }
            x.requires_grad_(true);
            var y = gn.call(x);
            (y * upstream).sum().backward();
            return new Result(y.detach(), x.grad!.clone(), parameters["weight"].grad!.clone(), parameters["bias"].grad!.clone());
        }
        finally
        {
            NativeGroupNorm.ThreadOverride = null;
        }
    }

    /// <summary>libtorch's group_norm in float64: the reference both float32 paths are held to.</summary>
    private static Result Reference(Tensor x, Tensor weight, Tensor bias, Tensor upstream)
    {
        var x64 = x.to(ScalarType.Float64).contiguous().requires_grad_(true);
        var w64 = weight.to(ScalarType.Float64).requires_grad_(true);
        var b64 = bias.to(ScalarType.Float64).requires_grad_(true);
        var y = nn.functional.group_norm(x64, Groups, w64, b64, GroupNorm32.Epsilon);
        (y * upstream.to(ScalarType.Float64)).sum().backward();
        return new Result(y.detach(), x64.grad!, w64.grad!, b64.grad!);
    }

    /// <summary>Max |got - want| within <paramref name="tolerance"/> of max |want| (relative to the tensor's scale).</summary>
    private static void AssertClose(Tensor want, Tensor got, string what, double tolerance = 1e-4, double floor = 0)
    {
        Assert.Equal(want.shape, got.shape);
        var scale = want.to(ScalarType.Float64).abs().max().item<double>();
        var error = Error(want, got);
        Assert.True(error <= Math.Max(tolerance * Math.Max(scale, 1e-6), 2 * floor),
            $"{what}: max error {error:G3} against scale {scale:G3} (libtorch float32's: {floor:G3})");
    }

    private static double Error(Tensor want, Tensor got) =>
        (want.to(ScalarType.Float64) - got.to(ScalarType.Float64)).abs().max().item<double>();

    /// <summary>The output and all three gradients of two runs, bit for bit.</summary>
    private static void AssertBitwiseEqual(Result a, Result b)
    {
        Assert.True(Same(a.Y, b.Y));
        Assert.True(Same(a.Dx, b.Dx));
        Assert.True(Same(a.Dweight, b.Dweight));
        Assert.True(Same(a.Dbias, b.Dbias));
    }

    private static bool Same(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
