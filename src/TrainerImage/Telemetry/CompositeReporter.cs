using BiT.Contracts.Api;
using BiT.Trainer.Training;

namespace BiT.Trainer.Telemetry;

public sealed class CompositeReporter(params IProgressReporter[] reporters) : IProgressReporter
{
    public void Started(TrainingSettings settings, int startStep)
    {
        foreach (var r in reporters)
        {
            r.Started(settings, startStep);
        }
    }

    public void Progress(ProgressUpdate update)
    {
        foreach (var r in reporters)
        {
            r.Progress(update);
        }
    }

    public void Evaluated(int step, EvalResult result)
    {
        foreach (var r in reporters)
        {
            r.Evaluated(step, result);
        }
    }

    public void Checkpointed(int step, string path, DateTimeOffset time)
    {
        foreach (var r in reporters)
        {
            r.Checkpointed(step, path, time);
        }
    }

    public void Finished(ResultStatus result)
    {
        foreach (var r in reporters)
        {
            r.Finished(result);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var r in reporters)
        {
            await r.DisposeAsync();
        }
    }
}
