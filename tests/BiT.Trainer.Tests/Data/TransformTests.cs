using BiT.Trainer.Data;

namespace BiT.Trainer.Tests.Data;

public sealed class TransformTests
{
    private static RawImage Gradient(int h, int w) =>
        new(h, w, 1, [.. Enumerable.Range(0, h * w).Select(i => (byte)(i % w * 255 / (w - 1)))]);

    [Theory]
    [InlineData(375, 500, 3, 512, 512, 17, 5, 480, true)]
    [InlineData(375, 500, 3, 160, 160, 0, 32, 128, false)]
    [InlineData(28, 28, 1, 36, 36, 4, 1, 32, true)]
    [InlineData(40, 30, 3, 16, 16, 0, 0, 16, false)]
    public void The_fused_window_gives_the_same_floats_as_resize_then_crop(int h, int w, int c, int outH, int outW, int top, int left, int size, bool flip)
    {
        // The transforms compute only the crop window; the floats must be those of the whole resize followed by the
        // crop (same sums in the same order), so the augmentation's results did not change.
        var random = new Random(h * w);
        var image = new RawImage(h, w, c, [.. Enumerable.Range(0, h * w * c).Select(_ => (byte)random.Next(256))]);
        var whole = Resampler.Resize(image, outH, outW);
        var expected = new float[3 * size * size];
        PixelWriter.WriteWindow(whole, outW, c, top, left, size, flip, expected);
        var fused = new float[3 * size * size];
        Resampler.ResizeWindow(image, 0, 0, w, h, outH, outW, top, left, size, flip, fused);
        Assert.Equal(expected, fused);

        // A region (the Inception crop's path) as well.
        var region = Resampler.Resize(image, 2, 3, w - 5, h - 4, size, size);
        PixelWriter.WriteWindow(region, size, c, 0, 0, size, flip, expected);
        Resampler.ResizeWindow(image, 2, 3, w - 5, h - 4, size, size, 0, 0, size, flip, fused);
        Assert.Equal(expected, fused);
    }

    [Fact]
    public void The_fused_window_reads_pixels_from_a_longer_pooled_buffer_by_rows()
    {
        var random = new Random(5);
        var pixels = Enumerable.Range(0, 20 * 30 * 3).Select(_ => (byte)random.Next(256)).ToArray();
        var exact = new RawImage(20, 30, 3, pixels);
        var pooled = new RawImage(20, 30, 3, [.. pixels, .. Enumerable.Repeat((byte)255, 999)]);
        var a = new float[3 * 8 * 8];
        var b = new float[3 * 8 * 8];
        Resampler.ResizeWindow(exact, 0, 0, 30, 20, 12, 12, 2, 3, 8, false, a);
        Resampler.ResizeWindow(pooled, 0, 0, 30, 20, 12, 12, 2, 3, 8, false, b);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Resize_of_a_constant_image_stays_constant_up_and_down()
    {
        var image = new RawImage(10, 7, 3, [.. Enumerable.Repeat((byte)90, 10 * 7 * 3)]);
        Assert.All(Resampler.Resize(image, 33, 41), v => Assert.Equal(90f, v, 3));
        Assert.All(Resampler.Resize(image, 3, 2), v => Assert.Equal(90f, v, 3));
    }

    [Fact]
    public void Downscaling_averages_instead_of_sampling()
    {
        // Alternating 0/255 columns: a sampling resize picks one phase, an averaging one lands near the middle.
        var stripes = new RawImage(8, 8, 1, [.. Enumerable.Range(0, 64).Select(i => (byte)(i % 2 == 0 ? 0 : 255))]);
        Assert.All(Resampler.Resize(stripes, 2, 2), v => Assert.InRange(v, 100f, 155f));
    }

    [Fact]
    public void Eval_resizes_to_crop_and_scales_pixels_to_minus_one_one()
    {
        var output = new float[3 * 16 * 16];
        var random = new DeterministicRandom(0, RandomPurpose.Augment);
        new EvalTransform(16).Apply(Gradient(28, 28), ref random, output);
        Assert.InRange(output[0], -1f, -0.9f);
        Assert.InRange(output[15], 0.9f, 1f);
        Assert.All(Enumerable.Range(1, 15), x => Assert.True(output[x] > output[x - 1]));
        // Gray replicated to three identical channels.
        Assert.Equal(output.AsSpan(0, 256).ToArray(), output.AsSpan(512, 256).ToArray());
    }

    [Fact]
    public void Fine_tune_crops_and_flips_randomly_but_reproducibly()
    {
        var transform = new FineTuneTransform(40, 32);
        var image = Gradient(28, 28);
        var outputs = Enumerable.Range(0, 20).Select(i =>
        {
            var output = new float[3 * 32 * 32];
            var random = new DeterministicRandom(1, RandomPurpose.Augment, 0, i);
            transform.Apply(image, ref random, output);
            return output;
        }).ToList();
        // Flipped crops run right-to-left: both directions appear.
        Assert.Contains(outputs, o => o[0] < o[31]);
        Assert.Contains(outputs, o => o[0] > o[31]);
        Assert.All(outputs, o => Assert.All(o, v => Assert.InRange(v, -1f, 1f)));
        var again = new float[3 * 32 * 32];
        var r = new DeterministicRandom(1, RandomPurpose.Augment, 0, 7);
        transform.Apply(image, ref r, again);
        Assert.Equal(outputs[7], again);
    }

    [Fact]
    public void Inception_window_stays_inside_the_image_with_bounded_area()
    {
        for (var i = 0; i < 500; i++)
        {
            var random = new DeterministicRandom(2, RandomPurpose.Augment, 0, i);
            var (x, y, w, h) = InceptionCropTransform.SampleWindow(64, 48, ref random);
            Assert.InRange(x, 0, 64 - w);
            Assert.InRange(y, 0, 48 - h);
            Assert.InRange(w * h, (int)(0.07 * 64 * 48), 64 * 48);
        }
    }
}
