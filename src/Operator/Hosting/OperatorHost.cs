using BiT.Operator.Controllers;
using BiT.Operator.Runtime;
using k8s;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace BiT.Operator.Hosting;

/// <summary>
/// One operator replica: the health/metrics endpoints, leader election, and the job controller that runs only
/// while this replica leads. <see cref="RunAsync"/> returns on shutdown (0) or when leadership is lost (1).
/// </summary>
public sealed class OperatorHost(IKubernetes client, OperatorSettings settings, IJobPlanner planner, TimeProvider time, ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<OperatorHost>();
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile JobController? _controller;
    private volatile LeaderElection? _election;

    public OperatorMetrics Metrics { get; } = new(Prometheus.Metrics.NewCustomRegistry());

    /// <summary>The bound metrics port, once serving.</summary>
    public Task<int> MetricsPort => _port.Task;

    public JobController? Controller => _controller;

    public bool IsLeader => _election?.IsLeader ?? _controller is not null;

    public bool IsReady => _controller?.HasSynced ?? (_election is not null);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        using var stopTrimming = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var trimming = settings.TrimMemory ? MemoryTrimmer.Default(time).RunAsync(stopTrimming.Token) : Task.CompletedTask;
        HealthServer? health = null;
        if (settings.MetricsPort is { } port)
        {
            try
            {
                health = await HealthServer.StartAsync(settings.MetricsBindAddress, port, () => IsReady, Metrics.WriteAsync, loggerFactory, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopped while starting (SIGTERM right after start): as clean a stop as any other.
                await stopTrimming.CancelAsync().ConfigureAwait(false);
                await trimming.ConfigureAwait(false);
                return 0;
            }

            _port.TrySetResult(health.Port);
            _logger.LogInformation("Serving /healthz, /readyz and /metrics on port {Port}", health.Port);
        }

        try
        {
            if (settings.LeaderElection is not { } le)
            {
                await LeadAsync(cancellationToken).ConfigureAwait(false);
                return 0;
            }

            _election = new LeaderElection(client, le, settings.Identity, loggerFactory.CreateLogger<LeaderElection>());
            var lost = await _election.RunAsync(LeadAsync, cancellationToken).ConfigureAwait(false);
            return lost ? 1 : 0;
        }
        finally
        {
            if (health is not null)
            {
                await health.DisposeAsync().ConfigureAwait(false);
            }

            await stopTrimming.CancelAsync().ConfigureAwait(false);
            await trimming.ConfigureAwait(false);
        }
    }

    private async Task LeadAsync(CancellationToken cancellationToken)
    {
        Metrics.Leading(true);
        using var controller = new JobController(client, settings, planner, time, loggerFactory, Metrics);
        _controller = controller;
        try
        {
            await controller.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _controller = null;
            Metrics.ReportJobs(null);
            Metrics.Leading(false);
        }
    }
}
