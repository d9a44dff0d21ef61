using System.Globalization;
using System.Text;
using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Contracts.Pods;
using BiT.Trainer.Checkpoints;
using BiT.Trainer.Data;
using BiT.Trainer.Telemetry;
using BiT.Trainer.Training;
using Prometheus;

namespace BiT.Trainer.Commands;

/// <summary>
/// What <c>bit-trainer run</c> and <c>bit-trainer train</c> do around the engine: resolve or read the plan, open the
/// data, build the network, wire the reporters, and turn the outcome into the documented exit code
/// (0 finished, 3 stopped after a checkpoint, 4 permanent failure with one line saying why).
/// </summary>
public sealed class JobRunner(TextWriter output, TextWriter error, TimeProvider time)
{
    private string? resultLine;

    /// <summary>Downloads URL weights into a cache and returns the local path (the model library's WeightsCache).</summary>
    public Func<Uri, string, string, CancellationToken, Task<string>> FetchWeights { get; init; } = WeightsFetcher.FetchAsync;

    /// <summary>Decode/augment threads; null = one per core.</summary>
    public int? DataThreads { get; init; }

    /// <summary>The process environment (the data-parallel variables: WORLD_SIZE, RANK, ...); tests give their own.</summary>
    public Func<string, string?> Variables { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>Evaluate every this many steps during <c>run</c> (null = five times per run; 0 = only at the end).</summary>
    public int? EvalEverySteps { get; init; }

    /// <summary>Runs a manifest on this machine (<c>bit-trainer run</c>).</summary>
    public async Task<int> RunManifestAsync(string manifestPath, string? workDirectory, int? maxSteps, int? metricsPort, bool interactive, CancellationToken stop)
    {
        return await GuardAsync(async () =>
        {
            using var world = DataParallel.FromEnvironment(Variables);
            var job = ManifestParser.ParseFile(manifestPath);
            var manifestDir = Path.GetDirectoryName(Path.GetFullPath(manifestPath))!;
            var workDir = Path.GetFullPath(workDirectory ?? Path.Combine("runs", job.Metadata.Name ?? "job"));
            var dataset = job.Spec.Dataset;
            DatasetFacts? facts = null;
            if (dataset is { Format: { } format } && (dataset.TrainExamples is null || (dataset.ImageSize is null && !job.IsPretrain)))
            {
                var dataPath = Path.IsPathRooted(dataset.Path) ? dataset.Path : Path.GetFullPath(Path.Combine(manifestDir, dataset.Path));
                facts = PlanAdapter.Measure(format, dataPath, dataset.NumClasses, dataset.Classes, Warn);
            }
            var plan = PlanResolver.Resolve(job, facts, new PlanResolverOptions
            {
                ManifestDirectory = manifestDir,
                CheckpointDirectory = Path.Combine(workDir, "checkpoints"),
                // Locally a pre-training job's output is the sibling work directory named after it.
                PretrainModelPath = name => Path.Combine(Path.GetDirectoryName(workDir)!, name, "final", "model.npz"),
            });
            Directory.CreateDirectory(workDir);
            var evalEvery = EvalEverySteps ?? Math.Max(1, plan.Hyperparameters.TotalSteps / 5);
            if (!world.IsLeader)
            {
                // The other ranks train in step with rank 0 and write nothing; their errors still reach stderr.
                return await TrainAsync(plan, workDir, Path.Combine(workDir, "checkpoints"), maxSteps, evalEvery, NullReporter.Instance, _ => { }, world, stop);
            }
            await File.WriteAllTextAsync(Path.Combine(workDir, "plan.json"), plan.ToJson() + "\n", stop);
            await output.WriteLineAsync(Describe(plan, manifestPath, workDir));
            if (world.WorldSize > 1)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  ranks        {world.WorldSize}, gradients by {world.DescribeGradientEngine(TorchSharp.torch.cuda.is_available() ? TorchSharp.DeviceType.CUDA : TorchSharp.DeviceType.CPU)}, {plan.Hyperparameters.BatchSize / world.WorldSize} images of each global batch per rank"));
            }

            var registry = Metrics.NewCustomRegistry();
            await using var endpoint = metricsPort is { } port ? MetricsEndpoint.TryStart(port, registry, Warn) : null;
            var console = new ConsoleReporter(output, interactive, time, TimeSpan.FromSeconds(10));
            await using var reporter = new CompositeReporter(console, new TrainerMetrics(registry));
            return await TrainAsync(plan, workDir, Path.Combine(workDir, "checkpoints"), maxSteps, evalEvery, reporter, console.Log, world, stop);
        }, stop);
    }

    /// <summary>Runs an operator-resolved plan (<c>bit-trainer train --plan</c>), as a pod does.</summary>
    public async Task<int> RunPlanAsync(string planPath, string? workDirectory, int? metricsPort, PodEnvironment pod, CancellationToken stop)
    {
        return await GuardAsync(async () =>
        {
            using var world = DataParallel.FromEnvironment(Variables);
            string json;
            try
            {
                json = await File.ReadAllTextAsync(planPath, stop);
            }
            catch (IOException e)
            {
                throw new PlanException($"cannot read the plan {planPath}: {e.Message}", e);
            }
            var plan = TrainingPlan.FromJson(json);
            if (plan.IsDeferred)
            {
                // The operator could not read the data: measure it here, as 'run' does, so the completed plan (and
                // its hash, which checkpoints are matched against) is the one a direct resolve would give.
                var facts = PlanAdapter.Measure(plan.Dataset.Format, plan.Dataset.Path, plan.Dataset.NumClasses, plan.Dataset.Classes, Warn);
                plan = PlanResolver.Complete(plan, facts);
            }
            // A plan file can say anything (1e300 as the learning rate): the spec's bounds, before any data is opened.
            PlanChecks.Check(plan);
            var checkpointDir = workDirectory ?? pod.WorkDirectory ?? plan.Checkpoint.Directory
                ?? throw new PlanException("no checkpoint directory: pass --workdir, set BIT_CHECKPOINT_DIR, or set checkpoint.directory in the plan");
            if (!world.IsLeader)
            {
                return await TrainAsync(plan, checkpointDir, checkpointDir, null, EvalEverySteps ?? 0, NullReporter.Instance, _ => { }, world, stop);
            }
            await output.WriteLineAsync(Describe(plan, planPath, checkpointDir));
            if (world.WorldSize > 1)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  ranks        {world.WorldSize}, gradients by {world.DescribeGradientEngine(TorchSharp.torch.cuda.is_available() ? TorchSharp.DeviceType.CUDA : TorchSharp.DeviceType.CPU)}, {plan.Hyperparameters.BatchSize / world.WorldSize} images of each global batch per rank"));
            }

            var registry = Metrics.NewCustomRegistry();
            await using var endpoint = (metricsPort ?? pod.MetricsPort) is { } port ? MetricsEndpoint.TryStart(port, registry, Warn) : null;
            var reporters = new List<IProgressReporter>
            {
                new ConsoleReporter(output, interactive: false, time, TimeSpan.FromSeconds(30)),
                new TrainerMetrics(registry),
            };
            if (pod.CanReportStatus)
            {
                reporters.Add(new KubernetesStatusReporter(pod, time, TimeSpan.FromSeconds(5), Warn));
            }
            await using var reporter = new CompositeReporter([.. reporters]);
            // In a pod the checkpoint volume is the work directory: /checkpoints/step-*.ckpt and /checkpoints/final/.
            return await TrainAsync(plan, checkpointDir, checkpointDir, null, EvalEverySteps ?? 0, reporter, output.WriteLine, world, stop);
        }, stop, pod.TerminationLog);
    }

    private async Task<int> TrainAsync(TrainingPlan plan, string workDir, string checkpointDir, int? maxSteps, int evalEvery, IProgressReporter reporter, Action<string> log, DataParallel world, CancellationToken stop)
    {
        var planHash = PlanHash.Compute(plan);
        var (train, test) = PlanAdapter.OpenData(plan.Dataset, Warn);
        var weightsPath = await WeightsPathAsync(plan, workDir, stop);
        var settings = PlanAdapter.Settings(plan, planHash, maxSteps, DataThreads) with { EvalEverySteps = evalEvery, WorldSize = world.WorldSize, Rank = world.Rank };
        var engine = new TrainingEngine(time, log);
        var outcome = await engine.RunAsync(PlanAdapter.Model(plan, weightsPath), train, test, settings, workDir, reporter, stop, checkpointDirectory: checkpointDir, world: world);
        if (outcome.Kind == TrainingOutcomeKind.Completed && !world.IsLeader)
        {
            return TrainerExitCodes.Success;
        }
        if (outcome.Kind == TrainingOutcomeKind.Completed)
        {
            var modelPath = Path.Combine(workDir, PodPaths.FinalModel);
            // For people only: nothing parses this sentence.
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"done: top-1 {outcome.Eval!.Top1:P2}, top-5 {outcome.Eval.Top5:P2} after {outcome.Step} steps; model {modelPath}"));
            // The result as data: status.result through the status subresource (sent when the reporter is disposed,
            // before exit 0), and the same as a JSON line, last on stdout and the termination message, which the
            // operator reads when the patch did not arrive (TrainerResult).
            var result = new ResultStatus { Top1 = outcome.Eval.Top1, Top5 = outcome.Eval.Top5, ModelPath = modelPath };
            reporter.Finished(result);
            resultLine = TrainerResult.ToMessage(result, outcome.Step);
            await output.WriteLineAsync(resultLine);
            return TrainerExitCodes.Success;
        }
        return TrainerExitCodes.CheckpointedStop;
    }

    private async Task<string?> WeightsPathAsync(TrainingPlan plan, string workDir, CancellationToken cancellationToken)
    {
        var weights = plan.Model.Weights;
        if (weights is null)
        {
            return null;
        }
        if (weights.Source == WeightsSource.Url)
        {
            var cache = Environment.GetEnvironmentVariable("BIT_WEIGHTS_CACHE") is { Length: > 0 } c ? c : Path.Combine(workDir, "weights-cache");
            return await FetchWeights(new Uri(weights.Url!), weights.Sha256!, cache, cancellationToken);
        }
        var path = weights.Path ?? throw new PlanException($"model.weights: the {weights.Source} source has no path on this machine");
        if (!File.Exists(path))
        {
            throw new PlanException(weights.Source == WeightsSource.PretrainJob
                ? $"model.weights.fromPretrainJob '{weights.PretrainJob}': {path} does not exist (has that job finished?)"
                : $"model.weights.path: {path} does not exist");
        }
        return path;
    }

    private async Task<int> GuardAsync(Func<Task<int>> body, CancellationToken stop, string? terminationLog = null)
    {
        try
        {
            var code = await body();
            if (code == TrainerExitCodes.Success && resultLine is not null)
            {
                WriteTerminationMessage(terminationLog, resultLine);
            }
            return code;
        }
        catch (Exception e)
        {
            // Every failure gets a documented code and one line saying why, the last line of output (docs/api.md):
            // the operator copies it into the Failed condition, or retries on the transient code.
            var (code, reason) = FailureClassifier.Classify(e, stop);
            var line = $"bit-trainer: error: {reason}";
            await output.FlushAsync();
            if (Debug)
            {
                await error.WriteLineAsync(e.ToString());
            }
            await error.WriteLineAsync(line);
            WriteTerminationMessage(terminationLog, line);
            return code;
        }
    }

    /// <summary>Stack traces of failures go to stderr too (BIT_DEBUG=1); otherwise a failure is one line.</summary>
    public bool Debug { get; init; } = Environment.GetEnvironmentVariable("BIT_DEBUG") is "1" or "true";

    private void WriteTerminationMessage(string? path, string message)
    {
        if (path is null)
        {
            return;
        }
        try
        {
            File.WriteAllText(path, message + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Warn($"warning: cannot write the termination message to {path}: {e.Message}");
        }
    }

    private void Warn(string message) => error.WriteLine(message);

    public static string Describe(TrainingPlan plan, string source, string workDir)
    {
        var h = plan.Hyperparameters;
        var d = plan.Dataset;
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"{plan.Kind} {plan.Job.Name} from {source}");
        sb.AppendLine(inv, $"  model        {plan.Model.Architecture} (blocks [{string.Join(", ", plan.Model.Blocks)}], width {plan.Model.WidthFactor}), {d.NumClasses} classes, weights: {plan.Model.Weights?.Source.ToString() ?? "random init"}");
        sb.AppendLine(inv, $"  data         {d.Format} {d.Path}: {d.TrainExamples} train examples{(d.FewShotExamplesPerClass is { } k ? $", few-shot {k}/class (seed {d.FewShotSeed})" : "")}{(d.Classes is { } c ? $", classes [{string.Join(", ", c)}]" : "")}, images {d.ImageHeight}x{d.ImageWidth}");
        sb.AppendLine(inv, $"  rule         {h.Rule}{(h.Overridden.Count > 0 ? $" (overridden: {string.Join(", ", h.Overridden)})" : "")}");
        sb.AppendLine(inv, $"  batch        {h.BatchSize} (split {h.BatchSplit}: micro-batch {h.BatchSize / Math.Max(1, h.BatchSplit)})");
        sb.AppendLine(inv, $"  schedule     {h.TotalSteps} steps, base lr {h.BaseLearningRate}, warm-up {h.WarmupSteps}, decays after [{string.Join(", ", h.DecaySteps)}]");
        sb.AppendLine(inv, $"  optimizer    SGD momentum {h.Momentum}, weight decay {h.WeightDecay}, {h.Loss} cross-entropy, MixUp alpha {h.MixupAlpha}");
        sb.AppendLine(inv, $"  resolution   {(h.PrecropSize is { } p ? $"precrop {p}, " : "inception crop, ")}crop {h.CropSize}");
        sb.AppendLine(inv, $"  seed         {plan.Seed}; work directory {workDir}");
        return sb.ToString().TrimEnd();
    }
}
