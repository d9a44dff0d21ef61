using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using BiT.Trainer.Checkpoints;
using BiT.Trainer.Data;
using BiT.Trainer.Telemetry;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Trainer.Training;

/// <summary>
/// The training loop shared by <c>bit-trainer run</c> and <c>bit-trainer train</c>: resume from the newest valid
/// checkpoint, then per optimizer step <c>batchSplit</c> micro-batches (MixUp, loss / split, backward), a check
/// that the loss is finite, one SGD step at the schedule's rate, logging and checkpoints; evaluation at the end.
/// A stop request is honoured between steps: the step in flight finishes, a checkpoint is written, and the run
/// returns <see cref="TrainingOutcomeKind.Stopped"/>.
/// Data-parallel (<paramref name="world"/> of more than one rank, docs/distributed.md): each rank reads its slice of
/// every global batch, gradients are averaged over the ranks before the update, the ranks agree on the loss and on
/// stopping every step, and rank 0 alone restores and broadcasts the state and writes checkpoints, metrics and the
/// final model.
/// </summary>
public sealed class TrainingEngine(TimeProvider time, Action<string> log)
{
    public async Task<TrainingOutcome> RunAsync(
        NetworkSpec network,
        IImageDataset train,
        IImageDataset test,
        TrainingSettings settings,
        string workDirectory,
        IProgressReporter reporter,
        CancellationToken stop,
        CancellationToken abort = default,
        string? checkpointDirectory = null,
        DataParallel? world = null)
    {
        world ??= DataParallel.Single;
        settings.Validate();
        if (settings.WorldSize != world.WorldSize || settings.Rank != world.Rank)
        {
            throw new ArgumentException($"the settings say rank {settings.Rank} of {settings.WorldSize}, the group rank {world.Rank} of {world.WorldSize}", nameof(settings));
        }
        var leader = world.IsLeader;
        if (train.NumClasses != settings.NumClasses || test.NumClasses != settings.NumClasses)
        {
            throw new TrainingFailedException($"the dataset has {train.NumClasses} classes but the plan says numClasses {settings.NumClasses}");
        }
        Directory.CreateDirectory(workDirectory);
        var store = new CheckpointStore(checkpointDirectory ?? Path.Combine(workDirectory, "checkpoints"), settings.Checkpoints.Keep, log);

        torch.random.manual_seed(settings.Seed);
        var device = settings.ResolveDevice();
        var kernelStarted = Stopwatch.GetTimestamp();
        var kernelLine = device.type.ToString();
        if (device.type == DeviceType.CPU)
        {
            var kernels = BiT.Model.Native.CpuKernels.Configure(BiT.Model.Native.KernelProbe.ForThisProcess);
            var mkl = BiT.Model.Native.MklDispatch.Apply();
            kernelLine = $"CPU convolutions: {(kernels.OneDnn ? "oneDNN, 1x1 as matrix products" : "PyTorch's native kernels (oneDNN off)")}: {kernels.Reason}; "
                + $"matrix products: oneMKL for {BiT.Model.Native.MklDispatch.KernelDescription() ?? "(no oneMKL in this libtorch)"} ({mkl.Reason}); "
                + BiT.Model.Native.NativeGroupNorm.Description();
            log(kernelLine);
        }
        else if (device.type == DeviceType.CUDA)
        {
            kernelLine = $"device: {device} ({torch.cuda.device_count()} CUDA device(s) visible; cuDNN {(torch.cuda.is_cudnn_available() ? "on" : "absent")})";
            log(kernelLine);
        }
        var precision = BiT.Model.Native.CpuPrecision.ForThisProcess(device.type, BiT.Model.Native.CpuKernels.Applied?.OneDnn ?? false);
        log(precision.Describe());
        var kernelSeconds = Stopwatch.GetElapsedTime(kernelStarted).TotalSeconds;
        using var model = network.Create();
        if (model is BiT.Model.BitResNet bit)
        {
            // Activations only: parameters, gradients, optimizer state and checkpoints stay float32.
            bit.ComputeType = precision.Compute;
            bit.ChannelsLast = precision.ChannelsLast;
        }
        // Weights are loaded on the CPU by Create; the optimizer's buffers must be made after the move.
        model.to(device);
        model.train();
        var parameters = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        using var optimizer = new SgdMomentum(parameters, settings.Momentum, settings.WeightDecay);

        var step = 0;
        if (leader)
        {
            store.RemoveStaleTemporaryFiles();
            RemoveStaleTemporaryFiles(Path.Combine(workDirectory, "final"), log);
            if (store.LoadLatest(settings.PlanHash) is { } checkpoint)
            {
                CheckpointMapper.Restore(checkpoint, model, optimizer);
                step = checkpoint.Step;
                log($"resuming from {Path.Combine(store.Directory, CheckpointStore.FileName(step))} (step {step} of {settings.Schedule.TotalSteps})");
            }
        }
        // Every rank starts from rank 0's state: the checkpoint it restored, or its freshly built network.
        step = world.BroadcastState(model, optimizer, step);
        var trainable = parameters.Select(p => p.Item2).Where(p => p.requires_grad).ToList();
        using var overlap = world.Overlap(model, trainable);

        using var runLog = leader ? new RunLog(workDirectory, step) : null;
        reporter.Started(settings, step);
        var lastCheckpointStep = step;
        var lastCheckpointTime = time.GetTimestamp();
        var total = settings.Schedule.TotalSteps;
        var stopAt = Math.Min(settings.StopAtStep ?? total, total);

        if (step < stopAt)
        {
            var transform = settings.Augmentation == AugmentationKind.FineTune
                ? (IImageTransform)new FineTuneTransform(settings.PrecropSize, settings.CropSize)
                : new InceptionCropTransform(settings.CropSize);
            var order = new SampleOrder(train.Count, settings.Seed);
            var tracker = new CorruptImageTracker(train.Count, settings.CorruptImageThreshold, log);
            await using var pipeline = new BatchPipeline(
                train, transform, BatchPlans.TrainingShard(order, settings.BatchSize, settings.BatchSplit, settings.WorldSize, settings.Rank, step),
                settings.Seed, settings.Workers, settings.Prefetch, tracker);
            var speed = new SpeedMeter();
            runLog?.Startup(step, ProcessUptime().TotalSeconds, kernelSeconds, kernelLine, precision.Name, time.GetUtcNow());
            while (step < stopAt)
            {
                var started = Stopwatch.GetTimestamp();
                var waitedBefore = pipeline.WaitTime;
                var communicatedBefore = world.CommunicationTime;
                var lr = settings.Schedule.LearningRate(step);
                var (loss, stopRequested) = await TrainStepAsync(model, optimizer, pipeline, settings, step, lr, world, trainable, overlap, stop, abort);
                if (!double.IsFinite(loss))
                {
                    throw new TrainingFailedException($"non-finite loss ({loss.ToString(CultureInfo.InvariantCulture)}) at step {step + 1}; lower the learning rate or check the data");
                }
                step++;
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var imagesPerSecond = speed.Add(settings.BatchSize, seconds);
                var now = time.GetUtcNow();
                var epoch = (double)step * settings.BatchSize / train.Count;
                runLog?.Step(step, loss, lr, imagesPerSecond, epoch, now, seconds, (pipeline.WaitTime - waitedBefore).TotalSeconds, (world.CommunicationTime - communicatedBefore).TotalSeconds);
                reporter.Progress(new ProgressUpdate(step, total, epoch, loss, lr, imagesPerSecond, speed.Eta(total - step, settings.BatchSize), now));

                if (leader && runLog is not null && settings.EvalEverySteps > 0 && step % settings.EvalEverySteps == 0 && step < total)
                {
                    var result = await EvaluateAsync(model, test, settings, abort);
                    runLog.Eval(step, result, time.GetUtcNow());
                    reporter.Evaluated(step, result);
                }

                // One process looks at its own signal as late as possible; ranks use the value they agreed on.
                var stopping = (world.WorldSize == 1 ? stop.IsCancellationRequested : stopRequested) || step >= stopAt;
                var due = (settings.Checkpoints.EverySteps is { } every && step - lastCheckpointStep >= every)
                    || (settings.Checkpoints.EverySeconds is { } seconds2 && time.GetElapsedTime(lastCheckpointTime).TotalSeconds >= seconds2);
                if (leader && (due || stopping))
                {
                    var path = store.Write(CheckpointMapper.Capture(step, settings, model, optimizer, time.GetUtcNow()));
                    lastCheckpointStep = step;
                    lastCheckpointTime = time.GetTimestamp();
                    reporter.Checkpointed(step, path, time.GetUtcNow());
                }
                if (stopping && step < total)
                {
                    if (runLog is not null)
                    {
                        log($"stopped at step {step} of {total} after writing a checkpoint; run again to resume");
                        CurvePlot.Save(Path.Combine(workDirectory, "curves.png"), runLog.LossHistory, runLog.Top1History, $"{network.Description}, step {step}/{total}");
                    }
                    return new TrainingOutcome(TrainingOutcomeKind.Stopped, step, null);
                }
            }
        }
        if (step < total)
        {
            return new TrainingOutcome(TrainingOutcomeKind.Stopped, step, null);
        }
        if (runLog is null)
        {
            // Not rank 0: the training is done; rank 0 evaluates and writes the results.
            return new TrainingOutcome(TrainingOutcomeKind.Completed, step, null);
        }

        var final = await EvaluateAsync(model, test, settings, abort);
        runLog.Eval(step, final, time.GetUtcNow());
        reporter.Evaluated(step, final);
        var finalDir = Path.Combine(workDirectory, "final");
        Directory.CreateDirectory(finalDir);
        network.SaveFinal(model, Path.Combine(finalDir, "model.npz"));
        var metrics = new JsonObject
        {
            ["top1"] = final.Top1,
            ["top5"] = final.Top5,
            ["steps"] = step,
            ["testExamples"] = final.Examples,
            ["trainExamples"] = train.Count,
            ["planHash"] = settings.PlanHash,
        };
        await File.WriteAllTextAsync(Path.Combine(finalDir, "metrics.json"), metrics.ToJsonString(new() { WriteIndented = true }) + "\n", CancellationToken.None);
        CurvePlot.Save(Path.Combine(workDirectory, "curves.png"), runLog.LossHistory, runLog.Top1History, $"{network.Description}: top-1 {final.Top1:P1} after {step} steps");
        return new TrainingOutcome(TrainingOutcomeKind.Completed, step, final);
    }

    private static async Task<(double Loss, bool Stop)> TrainStepAsync(
        nn.Module<Tensor, Tensor> model, SgdMomentum optimizer, BatchPipeline pipeline, TrainingSettings settings, int step, double lr,
        DataParallel world, IReadOnlyList<Tensor> trainable, GradientOverlap? overlap, CancellationToken stopRequest, CancellationToken abort)
    {
        optimizer.ZeroGrad();
        var lambda = MixUp.Lambda(settings.Seed, step, settings.MixupAlpha);
        double total = 0;
        for (var micro = 0; micro < settings.BatchSplit; micro++)
        {
            var batch = await pipeline.NextAsync(abort) ?? throw new InvalidOperationException("the training stream ended");
            using var scope = torch.NewDisposeScope();
            if (micro == settings.BatchSplit - 1)
            {
                // The last micro-batch's backward starts the gradient all-reduces as layers finish.
                overlap?.Arm();
            }
            var device = settings.ResolveDevice();
            var x = torch.tensor(batch.Pixels, [batch.Count, 3, batch.Size, batch.Size]).to(device);
            var y = torch.tensor(batch.Labels.Select(l => (long)l).ToArray(), [batch.Count]).to(device);
            // torch.tensor copied the pixels: the array goes back to the pipeline for a later batch.
            pipeline.Return(batch);
            Tensor loss;
            if (lambda < 1.0)
            {
                // Keyed by the micro-batch's index in the global batch (rank-major), the same as before for one rank.
                var perm = torch.tensor(MixUp.Permutation(settings.Seed, step, settings.Rank * settings.BatchSplit + micro, batch.Count), [batch.Count]).to(device);
                // Explicit Scalars, disposed after use: an implicitly converted one can be finalized mid-call.
                using var mine = lambda.ToScalar();
                using var theirs = (1.0 - lambda).ToScalar();
                var mixed = x.mul(mine).add(x.index_select(0, perm).mul(theirs), BiT.Model.HeldScalars.One);
                var logits = Flatten(model.forward(mixed));
                loss = Losses.CrossEntropy(logits, y, settings.Loss, settings.NumClasses).mul(mine)
                    .add(Losses.CrossEntropy(logits, y.index_select(0, perm), settings.Loss, settings.NumClasses).mul(theirs), BiT.Model.HeldScalars.One);
            }
            else
            {
                loss = Losses.CrossEntropy(Flatten(model.forward(x)), y, settings.Loss, settings.NumClasses);
            }
            using var split = ((double)settings.BatchSplit).ToScalar();
            var scaled = loss.div(split);
            scaled.backward();
            total += scaled.item<float>();
        }
        // Every rank learns the global loss (so all of them stop on a non-finite one) and whether any was asked to stop.
        if (overlap is not null)
        {
            // The gradients were averaged during and after backward; the loss and stop flag travel after them.
            var (overlappedLoss, overlappedStop) = world.FinishStep(overlap, total, stopRequest.IsCancellationRequested);
            if (double.IsFinite(overlappedLoss))
            {
                optimizer.Step(lr);
            }
            return (overlappedLoss, overlappedStop);
        }
        var (globalLoss, stop) = world.Agree(total, stopRequest.IsCancellationRequested);
        if (double.IsFinite(globalLoss))
        {
            world.AverageGradients(trainable);
            optimizer.Step(lr);
        }
        return (globalLoss, stop);
    }

    public static async Task<EvalResult> EvaluateAsync(nn.Module<Tensor, Tensor> model, IImageDataset test, TrainingSettings settings, CancellationToken abort)
    {
        model.eval();
        try
        {
            long correct1 = 0, correct5 = 0;
            var k = Math.Min(5, settings.NumClasses);
            await using var pipeline = new BatchPipeline(
                test, new EvalTransform(settings.CropSize), BatchPlans.Sequential(test.Count, settings.EvalBatchSize),
                settings.Seed, settings.Workers, settings.Prefetch,
                new CorruptImageTracker(test.Count, settings.CorruptImageThreshold, _ => { }));
            while (await pipeline.NextAsync(abort) is { } batch)
            {
                using var noGrad = torch.no_grad();
                using var scope = torch.NewDisposeScope();
                var x = torch.tensor(batch.Pixels, [batch.Count, 3, batch.Size, batch.Size]).to(settings.ResolveDevice());
                var y = torch.tensor(batch.Labels.Select(l => (long)l).ToArray(), [batch.Count, 1]).to(settings.ResolveDevice());
                pipeline.Return(batch);
                var (_, top) = Flatten(model.forward(x)).topk(k, dim: 1);
                var hits = top.eq(y);
                correct1 += hits[TensorIndex.Colon, TensorIndex.Slice(0, 1)].sum().item<long>();
                correct5 += hits.sum().item<long>();
            }
            return new EvalResult((double)correct1 / test.Count, (double)correct5 / test.Count, test.Count);
        }
        finally
        {
            model.train();
        }
    }

    // Real time since the process started (the start-up record is about this process, whatever clock the run uses).
    private static TimeSpan ProcessUptime()
    {
        using var self = Process.GetCurrentProcess();
        return DateTime.Now - self.StartTime;
    }

    private static Tensor Flatten(Tensor logits) => logits.dim() == 2 ? logits : logits.flatten(1);

    /// <summary>The hidden temporary files of an interrupted final-model write (<c>final/.model.npz.tmp-*</c>).</summary>
    private static void RemoveStaleTemporaryFiles(string finalDirectory, Action<string> log)
    {
        if (!Directory.Exists(finalDirectory))
        {
            return;
        }
        foreach (var stale in Directory.GetFiles(finalDirectory, ".*.tmp-*"))
        {
            try
            {
                File.Delete(stale);
                log($"removed {stale}, left by an interrupted write");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log($"warning: cannot remove {stale}: {e.Message}");
            }
        }
    }
}
