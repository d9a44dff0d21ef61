using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace BiT.Operator.Runtime;

/// <summary>Lease timings (the controller-runtime defaults unless configured).</summary>
public sealed record LeaderElectionSettings(
    string Namespace,
    string LeaseName,
    TimeSpan LeaseDuration,
    TimeSpan RenewDeadline,
    TimeSpan RetryPeriod)
{
    public static LeaderElectionSettings Default(string ns) =>
        new(ns, "bit-operator-leader", TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2));
}

/// <summary>
/// Runs work only while this replica holds the Lease (<see cref="LeaderElector"/> + <see cref="LeaseLock"/>). The
/// work's token is cancelled the moment leadership is lost, and the lease is released on a graceful shutdown so
/// that a standby takes over without waiting for it to expire.
/// </summary>
public sealed class LeaderElection(IKubernetes client, LeaderElectionSettings settings, string identity, ILogger logger)
{
    private volatile bool _leading;

    public bool IsLeader => _leading;

    public string Identity => identity;

    /// <summary>Returns true when leadership was lost (the caller should exit), false on shutdown.</summary>
    public async Task<bool> RunAsync(Func<CancellationToken, Task> whileLeading, CancellationToken cancellationToken)
    {
        var config = new LeaderElectionConfig(new LeaseLock(client, settings.Namespace, settings.LeaseName, identity))
        {
            LeaseDuration = settings.LeaseDuration,
            RenewDeadline = settings.RenewDeadline,
            RetryPeriod = settings.RetryPeriod,
        };
        using var elector = new LeaderElector(config);
        using var leadingCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task? work = null;
        elector.OnStartedLeading += () =>
        {
            _leading = true;
            logger.LogInformation("{Identity} became the leader", identity);
            work = Task.Run(() => whileLeading(leadingCts.Token), CancellationToken.None);
        };
        elector.OnNewLeader += leader => logger.LogInformation("Leader is now {Leader}", leader);
        elector.OnError += ex => logger.LogDebug(ex, "Leader election call failed");
        try
        {
            await elector.RunUntilLeadershipLostAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown.
        }

        var wasLeading = _leading;
        _leading = false;
        await leadingCts.CancelAsync().ConfigureAwait(false);
        if (work is not null)
        {
            try
            {
                await work.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Expected: the work stops with leadership.
            }
        }

        if (cancellationToken.IsCancellationRequested)
        {
            if (wasLeading)
            {
                await ReleaseAsync().ConfigureAwait(false);
            }

            return false;
        }

        logger.LogWarning("{Identity} lost leadership", identity);
        return true;
    }

    private async Task ReleaseAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var lease = await client.CoordinationV1.ReadNamespacedLeaseAsync(settings.LeaseName, settings.Namespace, cancellationToken: cts.Token).ConfigureAwait(false);
            if (lease.Spec?.HolderIdentity != identity)
            {
                return;
            }

            // LeaderElector treats a lease without a holder as absent and tries to create it (409 forever), so the
            // holder stays and the lease is made to expire a second after the standby sees this change.
            lease.Spec.LeaseDurationSeconds = 1;
            await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, settings.LeaseName, settings.Namespace, cancellationToken: cts.Token).ConfigureAwait(false);
            logger.LogInformation("{Identity} released the lease", identity);
        }
#pragma warning disable CA1031 // Best effort: the lease expires on its own anyway.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            logger.LogDebug(ex, "Releasing the lease failed; it will expire");
        }
    }
}
