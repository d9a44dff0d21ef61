namespace BiT.Trainer.Telemetry;

/// <summary>One optimizer step's worth of progress, as reporters and status show it.</summary>
public sealed record ProgressUpdate(
    int Step,
    int TotalSteps,
    double Epoch,
    double Loss,
    double LearningRate,
    double ImagesPerSecond,
    TimeSpan? Eta,
    DateTimeOffset Time);
