using BiT.Trainer.Training;

namespace BiT.Trainer.Telemetry;

public sealed class NullReporter : IProgressReporter
{
    public static NullReporter Instance { get; } = new();

    public void Started(TrainingSettings settings, int startStep)
    {
    }

    public void Progress(ProgressUpdate update)
    {
    }

    public void Evaluated(int step, EvalResult result)
    {
    }

    public void Checkpointed(int step, string path, DateTimeOffset time)
    {
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
