namespace BiT.Trainer.Checkpoints;

/// <summary>When to write checkpoints and how many to keep; with neither interval set, only stops and the end write one.</summary>
public sealed record CheckpointPolicy(int? EverySteps = null, double? EverySeconds = null, int Keep = 3);
