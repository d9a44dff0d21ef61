using BiT.Trainer.Training;
using Prometheus;

namespace BiT.Trainer.Telemetry;

/// <summary>The trainer's Prometheus gauges, kept current by the progress events.</summary>
public sealed class TrainerMetrics : IProgressReporter
{
    private readonly Gauge step;
    private readonly Gauge totalSteps;
    private readonly Gauge loss;
    private readonly Gauge imagesPerSecond;
    private readonly Gauge lastProgress;
    private readonly Gauge evalTop1;
    private readonly Gauge checkpointStep;

    public TrainerMetrics(CollectorRegistry registry)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        step = factory.CreateGauge("bit_trainer_step", "Optimizer steps done.");
        totalSteps = factory.CreateGauge("bit_trainer_total_steps", "Optimizer steps of the run.");
        loss = factory.CreateGauge("bit_trainer_loss", "Training loss of the latest step.");
        imagesPerSecond = factory.CreateGauge("bit_trainer_images_per_second", "Training throughput over the last steps.");
        lastProgress = factory.CreateGauge("bit_trainer_last_progress_timestamp_seconds", "Unix time of the latest completed step.");
        evalTop1 = factory.CreateGauge("bit_trainer_eval_top1", "Top-1 accuracy of the latest evaluation, 0..1.");
        checkpointStep = factory.CreateGauge("bit_trainer_checkpoint_step", "Step of the latest checkpoint written.");
    }

    public void Started(TrainingSettings settings, int startStep)
    {
        totalSteps.Set(settings.Schedule.TotalSteps);
        step.Set(startStep);
        checkpointStep.Set(startStep);
    }

    public void Progress(ProgressUpdate update)
    {
        step.Set(update.Step);
        totalSteps.Set(update.TotalSteps);
        loss.Set(update.Loss);
        imagesPerSecond.Set(update.ImagesPerSecond);
        lastProgress.Set(update.Time.ToUnixTimeMilliseconds() / 1000.0);
    }

    public void Evaluated(int step, EvalResult result) => evalTop1.Set(result.Top1);

    public void Checkpointed(int step, string path, DateTimeOffset time) => checkpointStep.Set(step);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
