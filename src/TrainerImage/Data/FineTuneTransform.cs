namespace BiT.Trainer.Data;

/// <summary>The HyperRule's training augmentation: resize to a square precrop, random crop to crop, random horizontal flip.</summary>
public sealed class FineTuneTransform : IImageTransform
{
    private readonly int precrop;

    public FineTuneTransform(int precropSize, int cropSize)
    {
        if (cropSize <= 0 || precropSize < cropSize)
        {
            throw new ArgumentOutOfRangeException(nameof(cropSize), $"need 0 < crop ({cropSize}) <= precrop ({precropSize})");
        }
        precrop = precropSize;
        Size = cropSize;
    }

    public int Size { get; }

    public void Apply(RawImage image, ref DeterministicRandom random, Span<float> destination)
    {
        var resized = Resampler.Resize(image, precrop, precrop);
        var top = random.NextInt(precrop - Size + 1);
        var left = random.NextInt(precrop - Size + 1);
        var flip = random.NextDouble() < 0.5;
        PixelWriter.WriteWindow(resized, precrop, image.Channels, top, left, Size, flip, destination);
    }
}
