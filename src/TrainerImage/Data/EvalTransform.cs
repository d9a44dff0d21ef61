namespace BiT.Trainer.Data;

/// <summary>Evaluation: resize straight to the crop size (no crop, no flip), as the reference code does.</summary>
public sealed class EvalTransform(int cropSize) : IImageTransform
{
    public int Size { get; } = cropSize > 0 ? cropSize : throw new ArgumentOutOfRangeException(nameof(cropSize));

    public int MinimumSourceSide => Size;

    public void Apply(RawImage image, ref DeterministicRandom random, Span<float> destination)
    {
        Resampler.ResizeWindow(image, 0, 0, image.Width, image.Height, Size, Size, 0, 0, Size, false, destination);
    }
}
