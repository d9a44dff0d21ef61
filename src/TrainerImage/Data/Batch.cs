namespace BiT.Trainer.Data;

/// <summary>Network inputs (Count x 3 x Size x Size, channel-major, [-1, 1]) and their labels.</summary>
public sealed record Batch(float[] Pixels, int[] Labels, int Size)
{
    public int Count => Labels.Length;
}
