namespace BiT.Trainer.Data;

/// <summary>
/// Upstream augmentation: an Inception-style random crop (area 8%-100% of the image, aspect ratio 3/4-4/3, ten tries,
/// then the largest centred crop of allowed aspect), resized to the crop size, plus a random horizontal flip.
/// </summary>
public sealed class InceptionCropTransform(int cropSize) : IImageTransform
{
    private const double MinArea = 0.08;
    private const double MaxArea = 1.0;
    private static readonly double LogMinRatio = Math.Log(3.0 / 4.0);
    private static readonly double LogMaxRatio = Math.Log(4.0 / 3.0);

    public int Size { get; } = cropSize > 0 ? cropSize : throw new ArgumentOutOfRangeException(nameof(cropSize));

    public void Apply(RawImage image, ref DeterministicRandom random, Span<float> destination)
    {
        var (x, y, w, h) = SampleWindow(image.Width, image.Height, ref random);
        var flip = random.NextDouble() < 0.5;
        Resampler.ResizeWindow(image, x, y, w, h, Size, Size, 0, 0, Size, flip, destination);
    }

    public static (int X, int Y, int Width, int Height) SampleWindow(int width, int height, ref DeterministicRandom random)
    {
        var area = (double)width * height;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var target = area * random.NextUniform(MinArea, MaxArea);
            var ratio = Math.Exp(random.NextUniform(LogMinRatio, LogMaxRatio));
            var w = (int)Math.Round(Math.Sqrt(target * ratio));
            var h = (int)Math.Round(Math.Sqrt(target / ratio));
            if (w > 0 && h > 0 && w <= width && h <= height)
            {
                return (random.NextInt(width - w + 1), random.NextInt(height - h + 1), w, h);
            }
        }
        var inRatio = (double)width / height;
        int cw, ch;
        if (inRatio < 3.0 / 4.0)
        {
            cw = width;
            ch = (int)Math.Round(width / (3.0 / 4.0));
        }
        else if (inRatio > 4.0 / 3.0)
        {
            ch = height;
            cw = (int)Math.Round(height * (4.0 / 3.0));
        }
        else
        {
            cw = width;
            ch = height;
        }
        return ((width - cw) / 2, (height - ch) / 2, cw, ch);
    }
}
