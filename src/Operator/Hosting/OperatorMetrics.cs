using BiT.Operator.Api;
using BiT.Operator.Controllers;
using Prometheus;

namespace BiT.Operator.Hosting;

/// <summary>
/// The operator's Prometheus series, on a registry of its own (so that two operators in one test process do not
/// share counters). Per-job gauges are recomputed from the cache at each scrape, so a deleted job's series go away.
/// </summary>
public sealed class OperatorMetrics
{
    private readonly Counter _reconciles;
    private readonly Histogram _duration;
    private readonly Gauge _queueDepth;
    private readonly Gauge _queueDelayed;
    private readonly Gauge _jobs;
    private readonly Gauge _progress;
    private readonly Gauge _sinceProgress;
    private readonly Gauge _imagesPerSecond;
    private readonly Gauge _stalled;
    private readonly Counter _restarts;
    private readonly Gauge _leader;
    private readonly Lock _gate = new();
    private readonly HashSet<string[]> _jobSeries = new(LabelComparer.Instance);
    private readonly HashSet<string[]> _perJobSeries = new(LabelComparer.Instance);
    private readonly HashSet<string[]> _restartSeries = new(LabelComparer.Instance);

    public OperatorMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        // Process and GC series (memory, CPU) alongside the operator's own.
        DotNetStats.Register(registry);
        var f = Metrics.WithCustomRegistry(registry);
        _reconciles = f.CreateCounter("bit_operator_reconcile_total", "Reconciles by kind and result (success, requeue, error).", "kind", "result");
        _duration = f.CreateHistogram("bit_operator_reconcile_duration_seconds", "Time to reconcile one job.", new HistogramConfiguration
        {
            LabelNames = ["kind"],
            Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16),
        });
        _queueDepth = f.CreateGauge("bit_operator_workqueue_depth", "Keys ready in the work queue.");
        _queueDelayed = f.CreateGauge("bit_operator_workqueue_delayed", "Keys waiting for a requeue-after or backoff.");
        _jobs = f.CreateGauge("bit_jobs", "Jobs by kind, namespace and phase.", "kind", "namespace", "phase");
        _progress = f.CreateGauge("bit_job_progress_ratio", "Step over total steps.", "kind", "namespace", "name");
        _sinceProgress = f.CreateGauge("bit_job_seconds_since_progress", "Seconds since the trainer last reported progress.", "kind", "namespace", "name");
        _imagesPerSecond = f.CreateGauge("bit_job_images_per_second", "Training throughput the trainer reports.", "kind", "namespace", "name");
        _stalled = f.CreateGauge("bit_job_stalled", "1 while the job's Stalled condition is True.", "kind", "namespace", "name");
        _restarts = f.CreateCounter("bit_job_restarts_total", "Trainer pod restarts by reason.", "kind", "namespace", "name", "reason");
        _leader = f.CreateGauge("bit_operator_leader", "1 while this replica leads.");
    }

    public CollectorRegistry Registry { get; }

    /// <summary>When set (benchmarks), every reconcile's duration in seconds is also added here.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<double>? DurationSamples { get; set; }

    public void Reconciled(string kind, string result, TimeSpan duration)
    {
        DurationSamples?.Enqueue(duration.TotalSeconds);
        _reconciles.WithLabels(kind, result).Inc();
        _duration.WithLabels(kind).Observe(duration.TotalSeconds);
    }

    public void Queue(int depth, int delayed)
    {
        _queueDepth.Set(depth);
        _queueDelayed.Set(delayed);
    }

    public void Leading(bool leading) => _leader.Set(leading ? 1 : 0);

    public void Restarted(JobKind kind, string ns, string name, string reason)
    {
        string[] labels = [kind.Kind, ns, name, reason];
        lock (_gate)
        {
            _restartSeries.Add(labels);
        }

        _restarts.WithLabels(labels).Inc();
    }

    /// <summary>Recomputes the per-job gauges from the jobs now cached; series of jobs no longer there are removed.</summary>
    public void Refresh(IEnumerable<(JobKind Kind, BiTJob Job)> jobs, DateTimeOffset now)
    {
        var counts = new Dictionary<string[], int>(LabelComparer.Instance);
        var perJob = new HashSet<string[]>(LabelComparer.Instance);
        var live = new HashSet<(string, string, string)>();
        foreach (var (kind, job) in jobs)
        {
            var status = BiT.Contracts.Api.BiTJobStatus.FromJson(job.Status);
            var ns = job.Metadata.NamespaceProperty ?? "";
            var phase = (status.Phase ?? BiT.Contracts.Api.JobPhase.Pending).ToString();
            string[] jobLabels = [kind.Kind, ns, phase];
            counts[jobLabels] = counts.GetValueOrDefault(jobLabels) + 1;
            string[] id = [kind.Kind, ns, job.Metadata.Name];
            live.Add((kind.Kind, ns, job.Metadata.Name));
            perJob.Add(id);
            _progress.WithLabels(id).Set(status.Progress is { TotalSteps: > 0 } p ? (double)p.Step / p.TotalSteps : 0);
            _sinceProgress.WithLabels(id).Set(status.Progress?.LastProgressTime is { } t ? Math.Max(0, (now - t).TotalSeconds) : 0);
            _imagesPerSecond.WithLabels(id).Set(status.Progress?.ImagesPerSecond ?? 0);
            _stalled.WithLabels(id).Set(status.IsConditionTrue(BiT.Contracts.Api.ConditionTypes.Stalled) ? 1 : 0);
        }

        lock (_gate)
        {
            foreach (var gone in _jobSeries.Where(l => !counts.ContainsKey(l)).ToList())
            {
                _jobs.RemoveLabelled(gone);
                _jobSeries.Remove(gone);
            }

            foreach (var (labels, count) in counts)
            {
                _jobs.WithLabels(labels).Set(count);
                _jobSeries.Add(labels);
            }

            foreach (var gone in _perJobSeries.Where(l => !perJob.Contains(l)).ToList())
            {
                _progress.RemoveLabelled(gone);
                _sinceProgress.RemoveLabelled(gone);
                _imagesPerSecond.RemoveLabelled(gone);
                _stalled.RemoveLabelled(gone);
                _perJobSeries.Remove(gone);
            }

            _perJobSeries.UnionWith(perJob);

            foreach (var gone in _restartSeries.Where(l => !live.Contains((l[0], l[1], l[2]))).ToList())
            {
                _restarts.RemoveLabelled(gone);
                _restartSeries.Remove(gone);
            }
        }
    }

    private sealed class LabelComparer : IEqualityComparer<string[]>
    {
        public static LabelComparer Instance { get; } = new();

        public bool Equals(string[]? x, string[]? y) => x is not null && y is not null && x.AsSpan().SequenceEqual(y);

        public int GetHashCode(string[] obj)
        {
            var h = new HashCode();
            foreach (var s in obj)
            {
                h.Add(s);
            }

            return h.ToHashCode();
        }
    }
}
