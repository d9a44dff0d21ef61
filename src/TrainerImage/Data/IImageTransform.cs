namespace BiT.Trainer.Data;

/// <summary>Turns a decoded image into the network's input: 3 x Size x Size floats in [-1, 1], channel-major.</summary>
public interface IImageTransform
{
    int Size { get; }

    /// <summary>
    /// The smallest image (width = height) this transform's result can be computed from without upsampling what
    /// it would otherwise downsample: decoders may shrink on load to this; 0 when any reduction changes the result.
    /// </summary>
    int MinimumSourceSide => 0;

    void Apply(RawImage image, ref DeterministicRandom random, Span<float> destination);
}
