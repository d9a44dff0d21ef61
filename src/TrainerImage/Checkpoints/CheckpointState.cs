namespace BiT.Trainer.Checkpoints;

/// <summary>
/// What a checkpoint holds. The data order and every random choice are keyed by (seed, epoch, index) and
/// (seed, step), so <see cref="Step"/> and <see cref="Seed"/> are the whole RNG and data-order state;
/// <see cref="SamplesSeen"/> records the stream position (step x batch) for people reading the header.
/// </summary>
public sealed record CheckpointState(
    int Step,
    string PlanHash,
    long Seed,
    long SamplesSeen,
    IReadOnlyList<TensorData> Tensors,
    DateTimeOffset Created);
