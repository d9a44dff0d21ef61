using BiT.Contracts.Api;
using BiT.Trainer.Training;

namespace BiT.Trainer.Telemetry;

/// <summary>Where a run tells the world how it is doing: the terminal, Prometheus, the job's status. Calls must not block training.</summary>
public interface IProgressReporter : IAsyncDisposable
{
    void Started(TrainingSettings settings, int startStep);

    void Progress(ProgressUpdate update);

    void Evaluated(int step, EvalResult result);

    void Checkpointed(int step, string path, DateTimeOffset time);

    /// <summary>The run finished: its final metrics and model (status.result). Sent before the process exits 0.</summary>
    void Finished(ResultStatus result)
    {
    }
}
