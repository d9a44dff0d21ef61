namespace BiT.Trainer.Commands;

/// <summary><c>bit-trainer run MANIFEST.yaml</c>: runs a job manifest on this machine, resuming when run again.</summary>
public sealed class RunCommand : ICommand
{
    public string Name => "run";

    public string Summary => "run a BiTFineTuneJob/BiTPretrainJob manifest on this machine (resumes when run again)";

    public string Help => """
        usage: bit-trainer run MANIFEST.yaml [--workdir DIR] [--max-steps N] [--metrics-port PORT] [--workers N]
                               [--eval-every N]

        Resolves the manifest (HyperRule or upstream recipe, then its overrides; training examples and image size
        measured from the data when the spec leaves them out), prints the resolved hyperparameters and trains.
        Leaves in the work directory: plan.json, metrics.jsonl, checkpoints/, tensorboard/, curves.png,
        final/model.npz and final/metrics.json. Running it again on the same work directory resumes from the
        newest valid checkpoint of the same plan.

          --workdir DIR        work directory (default runs/<metadata.name>)
          --max-steps N        stop with a checkpoint once the step counter reaches N (exit 3); run again to go on
          --metrics-port PORT  serve Prometheus metrics on http://+:PORT/metrics
          --workers N          decode/augment threads (default: one per core)
          --eval-every N       evaluate on the test split every N steps (default: five times per run; 0 = at the end)

        exit codes: 0 finished, 3 stopped after a checkpoint (SIGTERM, Ctrl+C, --max-steps), 4 permanent failure
        (bad manifest, bad data, non-finite loss; the last line says why), 2 usage error.

        example: bit-trainer run examples/finetune-fashion-mnist.yaml --workdir runs/fashion-mnist
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CommandConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        if (args.Count == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
        {
            throw new UsageException("missing MANIFEST.yaml");
        }
        var options = CommandArgs.Parse([.. args.Skip(1)], ["workdir", "max-steps", "metrics-port", "workers", "eval-every"]);
        var maxSteps = (int?)options.Integer("max-steps", min: 1, max: int.MaxValue);
        var port = (int?)options.Integer("metrics-port", min: 1, max: 65535);
        var workers = (int?)options.Integer("workers", min: 1, max: 256);
        var evalEvery = (int?)options.Integer("eval-every", min: 0, max: int.MaxValue);
        using var stop = new StopSignal(cancellationToken);
        var runner = new JobRunner(console.Out, console.Error, TimeProvider.System) { Workers = workers, EvalEverySteps = evalEvery };
        var interactive = ReferenceEquals(console.Out, Console.Out) && !Console.IsOutputRedirected;
        return await runner.RunManifestAsync(args[0], options.Optional("workdir"), maxSteps, port, interactive, stop.Token);
    }
}
