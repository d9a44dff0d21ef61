using BiT.Model;
using static TorchSharp.torch;

namespace BiT.Model.Tests.Network;

public sealed class WeightStandardizationTests
{
    [Fact]
    public void Standardize_matches_a_direct_per_output_channel_computation()
    {
        random.manual_seed(1);
        using var w = randn(4, 3, 3, 3) * 2.5 + 0.7;
        using var standardized = StdConv2d.Standardize(w);
        float[] raw = w.data<float>().ToArray();
        float[] got = standardized.data<float>().ToArray();
        int perChannel = 3 * 3 * 3;
        for (int o = 0; o < 4; o++)
        {
            var slice = raw.AsSpan(o * perChannel, perChannel).ToArray().Select(v => (double)v).ToArray();
            double mean = slice.Average();
            double biasedVariance = slice.Select(v => (v - mean) * (v - mean)).Sum() / perChannel;
            for (int k = 0; k < perChannel; k++)
            {
                double expected = (slice[k] - mean) / Math.Sqrt(biasedVariance + 1e-10);
                Assert.Equal(expected, got[(o * perChannel) + k], 4);
            }
        }
    }

    [Fact]
    public void Standardize_uses_the_biased_variance()
    {
        // Two values per channel: biased variance 1, unbiased 2. Only the biased one maps them to exactly -1 and 1.
        using var w = tensor(new float[] { 1, 3 }).reshape(1, 2, 1, 1);
        using var s = StdConv2d.Standardize(w);
        Assert.Equal(new[] { -1f, 1f }, s.data<float>().ToArray());
    }

    [Fact]
    public void Convolution_uses_the_standardized_kernel()
    {
        random.manual_seed(2);
        using var conv = new StdConv2d(3, 8, 3, stride: 2, padding: 1);
        using var noGrad = no_grad();
        using var x = randn(1, 3, 9, 9);
        using var y = conv.forward(x);
        using var expected = nn.functional.conv2d(x, StdConv2d.Standardize(conv.Weight), null, [2, 2], [1, 1]);
        Assert.Equal(new long[] { 1, 8, 5, 5 }, y.shape);
        Assert.True(y.allclose(expected, rtol: 1e-5, atol: 1e-6));

        // Scaling and shifting a kernel's channel changes nothing after standardisation.
        conv.Weight.mul_(3).add_(1);
        using var shifted = conv.forward(x);
        Assert.True(shifted.allclose(y, rtol: 1e-4, atol: 1e-4));
    }
}
