using BiT.Trainer.Data;

namespace BiT.Trainer.Tests.Data;

public sealed class TransformTests
{
    private static RawImage Gradient(int h, int w) =>
        new(h, w, 1, [.. Enumerable.Range(0, h * w).Select(i => (byte)(i % w * 255 / (w - 1)))]);

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
