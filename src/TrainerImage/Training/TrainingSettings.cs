using BiT.Contracts.Rules;
using BiT.Trainer.Checkpoints;

namespace BiT.Trainer.Training;

/// <summary>Everything the engine needs to know about a run, already resolved (HyperRule or upstream recipe, then overrides).</summary>
public sealed record TrainingSettings
{
    public required LearningRateSchedule Schedule { get; init; }

    public required int BatchSize { get; init; }

    public int BatchSplit { get; init; } = 1;

    public double Momentum { get; init; } = 0.9;

    public double WeightDecay { get; init; }

    public double MixupAlpha { get; init; }

    public LossFunction Loss { get; init; } = LossFunction.Softmax;

    public AugmentationKind Augmentation { get; init; } = AugmentationKind.FineTune;

    public int PrecropSize { get; init; }

    public required int CropSize { get; init; }

    public long Seed { get; init; }

    public required int NumClasses { get; init; }

    /// <summary>The SHA-256 recorded in every checkpoint; a checkpoint of another plan is never resumed.</summary>
    public required string PlanHash { get; init; }

    public CheckpointPolicy Checkpoints { get; init; } = new();

    /// <summary>0 = evaluate only at the end.</summary>
    public int EvalEverySteps { get; init; }

    public int EvalBatchSize { get; init; } = 64;

    public int Workers { get; init; } = Math.Max(1, Environment.ProcessorCount);

    public int Prefetch { get; init; } = 4;

    public double CorruptImageThreshold { get; init; } = 0.01;

    /// <summary>Stop (with a checkpoint) when the step counter reaches this, before the end of the schedule.</summary>
    public int? StopAtStep { get; init; }

    /// <summary>"cpu", "cuda" or null = CUDA when libtorch sees a GPU (the trainer image), else the CPU.</summary>
    public string? Device { get; init; }

    /// <summary>Processes that share each global batch (data-parallel ranks); 1 = this process alone.</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>This process's rank in [0, <see cref="WorldSize"/>): which slice of each global batch it reads.</summary>
    public int Rank { get; init; }

    /// <summary>This rank's share of each global batch.</summary>
    public int RankBatchSize => BatchSize / WorldSize;

    /// <summary>What one forward/backward pass of this rank sees: the rank's share split <c>batchSplit</c> ways.</summary>
    public int MicroBatchSize => BatchSize / (WorldSize * BatchSplit);

    public TorchSharp.torch.Device ResolveDevice() => Device is { } name
        ? TorchSharp.torch.device(name)
        : TorchSharp.torch.cuda.is_available() ? TorchSharp.torch.CUDA : TorchSharp.torch.CPU;

    public void Validate()
    {
        if (BatchSize <= 0 || BatchSplit <= 0 || BatchSize % BatchSplit != 0)
        {
            throw new TrainingFailedException($"batchSize ({BatchSize}) must be a positive multiple of batchSplit ({BatchSplit})");
        }
        if (WorldSize < 1 || Rank < 0 || Rank >= WorldSize)
        {
            throw new TrainingFailedException($"rank {Rank} is not in [0, world size {WorldSize})");
        }
        if (BatchSize % WorldSize != 0)
        {
            throw new TrainingFailedException($"batchSize ({BatchSize}) is not divisible by the world size ({WorldSize} processes): every rank takes an equal share of the global batch; choose a batchSize that is a multiple of {WorldSize} or another number of processes");
        }
        if (BatchSize / WorldSize % BatchSplit != 0)
        {
            throw new TrainingFailedException($"batchSize ({BatchSize}) / world size ({WorldSize}) = {BatchSize / WorldSize} per rank is not a multiple of batchSplit ({BatchSplit})");
        }
        if (CropSize <= 0 || (Augmentation == AugmentationKind.FineTune && PrecropSize < CropSize))
        {
            throw new TrainingFailedException($"cropSize ({CropSize}) must be positive and not above precropSize ({PrecropSize})");
        }
        if (MixupAlpha < 0 || !double.IsFinite(MixupAlpha))
        {
            throw new TrainingFailedException($"mixupAlpha must be >= 0, got {MixupAlpha}");
        }
        if (NumClasses < 1)
        {
            throw new TrainingFailedException($"numClasses must be >= 1, got {NumClasses}");
        }
        CheckMemory(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
    }

    /// <summary>
    /// Refuses a micro-batch whose input alone cannot be held (the prefetched batches, the one in flight and its device
    /// copy), with a sentence, before gigabytes are allocated: otherwise an overflow or an allocation failure deep in
    /// the pipeline. Activations need several times more; this only catches what can never work.
    /// </summary>
    public void CheckMemory(long availableBytes)
    {
        var inputBytes = (long)MicroBatchSize * 3 * CropSize * CropSize * sizeof(float);
        var held = inputBytes * (Math.Max(0, Prefetch) + 2);
        if (inputBytes > int.MaxValue || held > availableBytes)
        {
            throw new TrainingFailedException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"a micro-batch of {MicroBatchSize} images of {CropSize}x{CropSize} needs {inputBytes / 1073741824.0:F1} GiB for its input alone ({held / 1073741824.0:F1} GiB with {Prefetch} prefetched), more than the {availableBytes / 1073741824.0:F1} GiB this process may use: lower batchSize or raise batchSplit"));
        }
    }
}
