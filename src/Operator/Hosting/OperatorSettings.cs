using BiT.Operator.Controllers;
using BiT.Operator.Runtime;

namespace BiT.Operator.Hosting;

/// <summary>The operator's configuration (bound from the command line, environment and defaults).</summary>
public sealed record OperatorSettings
{
    /// <summary>Namespaces to watch; empty watches all.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];

    public ControllerOptions Controller { get; init; } = new();

    /// <summary>Concurrent reconciles (never two for one job).</summary>
    public int Parallelism { get; init; } = 4;

    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>First retry delay of a failing reconcile; doubles up to <see cref="MaxRetryBackoff"/>.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxRetryBackoff { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Null: no leader election (a single replica).</summary>
    public LeaderElectionSettings? LeaderElection { get; init; }

    /// <summary>This replica's name in the Lease and in Events.</summary>
    public string Identity { get; init; } = Environment.MachineName + "-" + Environment.ProcessId;

    public string MetricsBindAddress { get; init; } = "0.0.0.0";

    /// <summary>0 picks a free port (tests); null serves no HTTP endpoints.</summary>
    public int? MetricsPort { get; init; } = 8080;

    /// <summary>Run a full compacting GC after the managed heap has grown by a burst (<see cref="MemoryTrimmer"/>).</summary>
    public bool TrimMemory { get; init; } = true;
}
