using BiT.Contracts.Rules;
using BiT.Trainer.Checkpoints;
using BiT.Trainer.Data;
using BiT.Trainer.Telemetry;
using BiT.Trainer.Training;
using BiT.Trainer.Tests.Data;

namespace BiT.Trainer.Tests.Training;

internal static class EngineFixture
{
    public static TrainingSettings Settings(int totalSteps = 6, double mixup = 0.0, int batch = 8, int split = 1, int? stopAt = null) => new()
    {
        Schedule = new LearningRateSchedule(0.05, 2, totalSteps > 4 ? [totalSteps - 2] : [], totalSteps),
        BatchSize = batch,
        BatchSplit = split,
        MixupAlpha = mixup,
        PrecropSize = 20,
        CropSize = 16,
        Seed = 11,
        NumClasses = 4,
        PlanHash = "plan-a",
        Checkpoints = new CheckpointPolicy(EverySteps: 2, Keep: 2),
        EvalBatchSize = 16,
        Workers = 2,
        StopAtStep = stopAt,
    };

    public static (IImageDataset Train, IImageDataset Test) Data() => (new FakeDataset(40, 4, 12), new FakeDataset(12, 4, 12));

    public static NetworkSpec Model(List<byte[]>? finals = null, bool poison = false) => new(
        () => new TinyNet(4, poison),
        (model, path) =>
        {
            finals?.Add(TinyNet.Snapshot(model));
            File.WriteAllBytes(path, TinyNet.Snapshot(model));
        },
        "TinyNet");

    public static Task<TrainingOutcome> Run(string dir, TrainingSettings settings, NetworkSpec? model = null, CancellationToken stop = default, List<string>? log = null)
    {
        var (train, test) = Data();
        return new TrainingEngine(TimeProvider.System, line => log?.Add(line)).RunAsync(
            model ?? Model(), train, test, settings, dir, NullReporter.Instance, stop);
    }
}
