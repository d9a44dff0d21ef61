using System.CommandLine;
using BiT.Trainer.Telemetry;

namespace BiT.Trainer.Commands;

/// <summary><c>bit-trainer train --plan plan.json</c>: the operator's resolved plan, as the trainer pod runs it.</summary>
public sealed class TrainCommand : ICommand
{
    public string Name => "train";

    public string Summary => "run a resolved training plan (plan.json) as the operator's pods do";

    public string Help => """
        usage: bit-trainer train --plan plan.json [--workdir DIR] [--metrics-port PORT] [--data-threads N] [--processes N]

        Runs the plan the operator resolved (the same engine as 'run'): checkpoints and outputs go to the work
        directory (--workdir, else BIT_WORKDIR / BIT_CHECKPOINT_DIR, else the plan's checkpoint.directory),
        Prometheus metrics to --metrics-port or BIT_METRICS_PORT, and progress into the job's status.progress
        through the Kubernetes API when BIT_JOB_NAMESPACE, BIT_JOB_NAME and BIT_JOB_KIND are set (docs/api.md,
        "Pod environment"). With WORLD_SIZE above 1 it is one rank of a data-parallel run (RANK, MASTER_ADDR,
        BIT_RENDEZVOUS_DIR, ...; docs/distributed.md).

          --data-threads N     decode/augment threads (default: one per core)
          --processes N        start N ranks here, as a pod of several processes does: with WORLD_SIZE, NODE_RANK,
                               MASTER_ADDR and MASTER_PORT set they are ranks NODE_RANK x N .. NODE_RANK x N + N-1 of
                               that world (BIT_GPU_PER_RANK=true gives each its own GPU); without, a world of N here

        exit codes: 0 finished, 3 stopped after a checkpoint (SIGTERM), 4 permanent failure (the last line says
        why), 2 usage error.
        """;

    private readonly Option<string?> _plan = CommandOptions.Text("--plan");
    private readonly Option<string?> _workdir = CommandOptions.Text("--workdir");
    private readonly Option<long?> _metricsPort = CommandOptions.Integer("--metrics-port", min: 1, max: 65535);
    private readonly Option<long?> _dataThreads = CommandOptions.Integer("--data-threads", min: 1, max: 256);
    private readonly Option<long?> _processes = CommandOptions.Integer("--processes", min: 1, max: 256);

    public Command Define()
    {
        var command = new Command(Name, Summary) { _plan, _workdir, _metricsPort, _dataThreads, _processes };
        CommandOptions.Require(command, _plan);
        return command;
    }

    public async Task<int> RunAsync(ParseResult parsed, CommandConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        ArgumentNullException.ThrowIfNull(console);
        using var stop = new StopSignal(cancellationToken);
        if (parsed.GetValue(_processes) is > 1 and var processes && string.IsNullOrEmpty(System.Environment.GetEnvironmentVariable(BiT.Contracts.Pods.TrainerEnv.Rank)))
        {
            // This process launches the pod's ranks; each runs this command without --processes.
            var arguments = new List<string> { Name, "--plan", parsed.GetValue(_plan)! };
            foreach (var (flag, value) in new (string, object?)[] { ("--workdir", parsed.GetValue(_workdir)), ("--metrics-port", parsed.GetValue(_metricsPort)), ("--data-threads", parsed.GetValue(_dataThreads)) })
            {
                if (value is not null)
                {
                    arguments.Add(flag);
                    arguments.Add(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!);
                }
            }
            return await new LocalLauncher(console.Out, console.Error).RunAsync((int)processes, arguments, stop.Token);
        }
        var runner = new JobRunner(console.Out, console.Error, TimeProvider.System) { DataThreads = (int?)parsed.GetValue(_dataThreads) };
        return await runner.RunPlanAsync(parsed.GetValue(_plan)!, parsed.GetValue(_workdir), (int?)parsed.GetValue(_metricsPort), PodEnvironment.FromProcess(), stop.Token);
    }
}
