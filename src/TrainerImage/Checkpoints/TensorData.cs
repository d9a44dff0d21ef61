namespace BiT.Trainer.Checkpoints;

/// <summary>One named tensor as raw little-endian bytes.</summary>
public sealed record TensorData(string Name, string DType, long[] Shape, byte[] Data);
