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

    /// <summary>The whole image is resized to the precrop square, so a source covering that square suffices.</summary>
    public int MinimumSourceSide => precrop;

    public void Apply(RawImage image, ref DeterministicRandom random, Span<float> destination)
    {
        var top = random.NextInt(precrop - Size + 1);
        var left = random.NextInt(precrop - Size + 1);
        var flip = random.NextDouble() < 0.5;
        Resampler.ResizeWindow(image, 0, 0, image.Width, image.Height, precrop, precrop, top, left, Size, flip, destination);
    }
}
