using System.CommandLine;

namespace BiT.Trainer.Commands;

/// <summary><c>bit-trainer run MANIFEST.yaml</c>: runs a job manifest on this machine, resuming when run again.</summary>
public sealed class RunCommand : ICommand
{
    public string Name => "run";

    public string Summary => "run a BiTFineTuneJob/BiTPretrainJob manifest on this machine (resumes when run again)";

    public string Help => """
        usage: bit-trainer run MANIFEST.yaml [--workdir DIR] [--max-steps N] [--metrics-port PORT] [--data-threads N]
                               [--eval-every N] [--processes N]

        Resolves the manifest (HyperRule or upstream recipe, then its overrides; training examples and image size
        measured from the data when the spec leaves them out), prints the resolved hyperparameters and trains.
        Leaves in the work directory: plan.json, metrics.jsonl, checkpoints/, tensorboard/, curves.png,
        final/model.npz and final/metrics.json. Running it again on the same work directory resumes from the
        newest valid checkpoint of the same plan.

          --workdir DIR        work directory (default runs/<metadata.name>)
          --max-steps N        stop with a checkpoint once the step counter reaches N (exit 3); run again to go on
          --metrics-port PORT  serve Prometheus metrics on http://+:PORT/metrics
          --data-threads N     decode/augment threads per process (default: one per core)
          --eval-every N       evaluate on the test split every N steps (default: five times per run; 0 = at the end)
          --processes N        data-parallel: start N ranks here (as torchrun does with N processes per node); each takes
                               an equal share of every global batch (batchSize must divide by N), gradients are
                               averaged over Gloo, rank 0 writes the outputs (docs/distributed.md; default 1)

        exit codes: 0 finished, 3 stopped after a checkpoint (SIGTERM, Ctrl+C, --max-steps), 4 permanent failure
        (bad manifest, bad data, non-finite loss; the last line says why), 2 usage error.

        example: bit-trainer run examples/finetune-fashion-mnist.yaml --workdir runs/fashion-mnist
        """;

    private readonly Argument<string?> _manifest = new("MANIFEST.yaml") { Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<string?> _workdir = CommandOptions.Text("--workdir");
    private readonly Option<long?> _maxSteps = CommandOptions.Integer("--max-steps", min: 1, max: int.MaxValue);
    private readonly Option<long?> _metricsPort = CommandOptions.Integer("--metrics-port", min: 1, max: 65535);
    private readonly Option<long?> _dataThreads = CommandOptions.Integer("--data-threads", min: 1, max: 256);
    private readonly Option<long?> _processes = CommandOptions.Integer("--processes", min: 1, max: 256);
    private readonly Option<long?> _evalEvery = CommandOptions.Integer("--eval-every", min: 0, max: int.MaxValue);

    public Command Define()
    {
        var command = new Command(Name, Summary) { _manifest, _workdir, _maxSteps, _metricsPort, _dataThreads, _evalEvery, _processes };
        command.Validators.Add(r =>
        {
            if (string.IsNullOrEmpty(r.GetValue(_manifest)))
            {
                r.AddError("missing MANIFEST.yaml");
            }
        });
        return command;
    }

    public async Task<int> RunAsync(ParseResult parsed, CommandConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        ArgumentNullException.ThrowIfNull(console);
        using var stop = new StopSignal(cancellationToken);
        if (parsed.GetValue(_processes) is > 1 and var processes && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(BiT.Contracts.Pods.TrainerEnv.Rank)))
        {
            // This process launches the ranks; each of them runs this command without --processes.
            var arguments = new List<string> { Name, parsed.GetValue(_manifest)! };
            void Add(string flag, object? value)
            {
                if (value is not null)
                {
                    arguments.Add(flag);
                    arguments.Add(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!);
                }
            }
            Add("--workdir", parsed.GetValue(_workdir));
            Add("--max-steps", parsed.GetValue(_maxSteps));
            Add("--metrics-port", parsed.GetValue(_metricsPort));
            Add("--data-threads", parsed.GetValue(_dataThreads));
            Add("--eval-every", parsed.GetValue(_evalEvery));
            return await new LocalLauncher(console.Out, console.Error).RunAsync((int)processes, arguments, stop.Token);
        }
        var runner = new JobRunner(console.Out, console.Error, TimeProvider.System)
        {
            DataThreads = (int?)parsed.GetValue(_dataThreads),
            EvalEverySteps = (int?)parsed.GetValue(_evalEvery),
        };
        var interactive = ReferenceEquals(console.Out, Console.Out) && !Console.IsOutputRedirected;
        return await runner.RunManifestAsync(
            parsed.GetValue(_manifest)!, parsed.GetValue(_workdir), (int?)parsed.GetValue(_maxSteps), (int?)parsed.GetValue(_metricsPort), interactive, stop.Token);
    }
}
