using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Model;
using BiT.Trainer.Checkpoints;
using BiT.Trainer.Data;

namespace BiT.Trainer.Training;

/// <summary>Turns the contracts' resolved <see cref="TrainingPlan"/> into the engine's inputs: settings, data and network.</summary>
public static class PlanAdapter
{
    public static TrainingSettings Settings(TrainingPlan plan, string planHash, int? stopAtStep = null, int? workers = null)
    {
        var h = plan.Hyperparameters;
        return new TrainingSettings
        {
            Schedule = h.ToSchedule(),
            BatchSize = h.BatchSize,
            BatchSplit = h.BatchSplit,
            Momentum = h.Momentum,
            WeightDecay = h.WeightDecay,
            MixupAlpha = h.MixupAlpha,
            Loss = h.Loss,
            Augmentation = plan.IsPretrain ? AugmentationKind.Inception : AugmentationKind.FineTune,
            PrecropSize = h.PrecropSize ?? h.CropSize,
            CropSize = h.CropSize,
            Seed = plan.Seed,
            NumClasses = plan.Dataset.NumClasses,
            PlanHash = planHash,
            Checkpoints = new CheckpointPolicy(plan.Checkpoint.EverySteps, plan.Checkpoint.EverySeconds, Math.Max(1, plan.Checkpoint.Keep)),
            StopAtStep = stopAtStep,
            // Evaluation holds no activations for backward, so the training micro-batch always fits.
            EvalBatchSize = Math.Clamp(h.BatchSize / Math.Max(1, h.BatchSplit), 1, 256),
            Workers = workers ?? Math.Max(1, Environment.ProcessorCount),
        };
    }

    /// <summary>Train (few-shot subset applied) and test splits of the plan's dataset.</summary>
    public static (IImageDataset Train, IImageDataset Test) OpenData(PlanDataset dataset, Action<string> warn)
    {
        var (train, test) = DatasetLoader.OpenSplits(dataset.Format, dataset.Path, dataset.NumClasses, warn, classes: dataset.Classes);
        if (dataset.FewShotExamplesPerClass is { } k)
        {
            train = FewShotSampler.Select(train, k, dataset.FewShotSeed);
        }
        return (train, test);
    }

    /// <summary>Measures what the HyperRule needs when the spec leaves it out: training examples and the original image size.</summary>
    public static DatasetFacts Measure(DatasetFormat format, string path, int numClasses, IReadOnlyList<int>? classes, Action<string> warn)
    {
        var train = DatasetLoader.OpenClasses(format, path, DataSplit.Train, numClasses, classes,
            new CorruptImageTracker(int.MaxValue, 1.0, warn));
        if (train.Count == 0)
        {
            throw new DataException($"dataset path {path}: the train split is empty");
        }
        // The first image that decodes gives the size: a corrupt first file is skipped, as training would skip it.
        const int Tries = 100;
        for (var i = 0; i < Math.Min(train.Count, Tries); i++)
        {
            try
            {
                var first = train.Load(i);
                return new DatasetFacts(train.Count, first.Height, first.Width);
            }
            catch (CorruptImageException e)
            {
                warn($"warning: example {i} of {path} cannot be decoded ({e.Message}); measuring the next one");
            }
        }
        throw new DataException($"dataset path {path}: none of the first {Math.Min(train.Count, Tries)} training images can be decoded");
    }

    public static BitArchitecture Architecture(PlanModel model) =>
        string.Equals(model.Architecture, "Custom", StringComparison.Ordinal)
            ? BitArchitecture.Custom([.. model.Blocks], model.WidthFactor)
            : BitArchitecture.Parse(model.Architecture);

    /// <summary>
    /// The network of the plan. Fine-tuning starts from the given weights with a new zero head; pre-training starts
    /// from random weights (or continues from given ones, head included). <paramref name="weightsPath"/> is where
    /// the weights are on this machine (already downloaded and verified for a URL).
    /// </summary>
    public static NetworkSpec Model(TrainingPlan plan, string? weightsPath)
    {
        var arch = Architecture(plan.Model);
        var headSize = plan.Dataset.NumClasses;
        return new NetworkSpec(
            () =>
            {
                var model = BitResNet.Create(arch, headSize, plan.Seed);
                if (weightsPath is not null)
                {
                    NpzWeights.Load(model, weightsPath, replaceHead: !plan.IsPretrain);
                }
                return model;
            },
            (model, path) => NpzWeights.Save((BitResNet)model, path),
            $"{arch.Name}, {headSize} classes");
    }
}
