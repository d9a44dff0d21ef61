using BiT.Trainer.Data;

namespace BiT.Trainer.Tests.Data;

/// <summary>Image i is a constant gray of value i (mod 256), label i mod classes; listed indices are corrupt.</summary>
internal sealed class FakeDataset(int count, int classes, int side = 8, params int[] corrupt) : IImageDataset
{
    public int Count => count;

    public int NumClasses => classes;

    public int LabelOf(int index) => index % classes;

    public RawImage Load(int index) => corrupt.Contains(index)
        ? throw new CorruptImageException("bad bytes")
        : new RawImage(side, side, 1, Enumerable.Repeat((byte)(index % 256), side * side).ToArray());

    public string Describe(int index) => $"fake[{index}]";
}
