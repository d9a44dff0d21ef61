namespace BiT.Trainer.Data;

/// <summary>Evaluation: resize straight to the crop size (no crop, no flip), as the reference code does.</summary>
public sealed class EvalTransform(int cropSize) : IImageTransform
{
    public int Size { get; } = cropSize > 0 ? cropSize : throw new ArgumentOutOfRangeException(nameof(cropSize));

    public void Apply(RawImage image, ref DeterministicRandom random, Span<float> destination)
    {
        var resized = Resampler.Resize(image, Size, Size);
        PixelWriter.WriteWindow(resized, Size, image.Channels, 0, 0, Size, false, destination);
    }
}
