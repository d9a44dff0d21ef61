namespace BiT.Trainer.Data;

/// <summary>Turns a decoded image into the network's input: 3 x Size x Size floats in [-1, 1], channel-major.</summary>
public interface IImageTransform
{
    int Size { get; }

    void Apply(RawImage image, ref DeterministicRandom random, Span<float> destination);
}
