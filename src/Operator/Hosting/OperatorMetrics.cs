using BiT.Contracts;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using Prometheus;

namespace BiT.Operator.Hosting;

/// <summary>
/// The operator's Prometheus series, on a registry of its own (so that two operators in one test process do not
/// share counters). The per-job gauges (progress, seconds since progress, images per second, stalled, phase) are not kept
/// as prometheus-net children: <see cref="WriteAsync"/> writes them at scrape time straight from the jobs cached
/// then (<see cref="ReportJobs"/>), after the registry's series, so 5,000 jobs cost no resident series and a deleted
/// job's series are simply not written again. The jobs-by-phase gauge is recomputed at each scrape the same way.
/// </summary>
public sealed class OperatorMetrics
{
    private static readonly PerJobFamily[] PerJobFamilies =
    [
        new("bit_job_progress_ratio", "Step over total steps.", r => r.Progress),
        new("bit_job_seconds_since_progress", "Seconds since the trainer last reported progress.", r => r.SinceProgress),
        new("bit_job_images_per_second", "Training throughput the trainer reports.", r => r.ImagesPerSecond),
        new("bit_job_stalled", "1 while the job's Stalled condition is True and it has not failed.", r => r.Stalled),

        // Written only for a job with a result: the trainer's own top-1 gauge goes with its pod when the run ends.
        new("bit_job_top1", "Top-1 accuracy of the job's final evaluation (status.result.top1), 0..1.", r => r.Top1),
    ];

    private readonly Counter _reconciles;
    private readonly Histogram _duration;
    private readonly Gauge _queueDepth;
    private readonly Gauge _queueDelayed;
    private readonly Gauge _jobs;
    private readonly Counter _restarts;
    private readonly Gauge _leader;
    private readonly Gauge _gcHeap;
    private readonly Gauge _gcFragmented;
    private readonly Gauge _gcCommitted;
    private readonly Lock _gate = new();
    private readonly HashSet<string[]> _jobSeries = new(LabelComparer.Instance);
    private readonly HashSet<string[]> _restartSeries = new(LabelComparer.Instance);
    private readonly SemaphoreSlim _scrape = new(1, 1);
    private volatile JobSource? _jobSource;

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
        _restarts = f.CreateCounter("bit_job_restarts_total", "Trainer pod restarts by reason.", "kind", "namespace", "name", "reason");
        _leader = f.CreateGauge("bit_operator_leader", "1 while this replica leads.");
        _gcHeap = f.CreateGauge("bit_operator_gc_heap_bytes", "Managed heap by generation after the last GC (GC.GetGCMemoryInfo).", "generation");
        _gcFragmented = f.CreateGauge("bit_operator_gc_fragmented_bytes", "Free space inside the managed heap after the last GC.");
        _gcCommitted = f.CreateGauge("bit_operator_gc_committed_bytes", "Memory the GC has committed after the last GC.");
        registry.AddBeforeCollectCallback(RefreshGc);
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

    /// <summary>
    /// Where the per-job series come from at each scrape: the jobs cached then, and the time (null: no per-job
    /// series, e.g. while this replica does not lead). Nothing of the jobs is kept between scrapes.
    /// </summary>
    public void ReportJobs(Func<IEnumerable<(JobKind Kind, JobObject Job)>>? jobs, Func<DateTimeOffset>? now = null) =>
        _jobSource = jobs is null ? null : new JobSource(jobs, now ?? (() => DateTimeOffset.UtcNow));

    /// <summary>
    /// The /metrics body (Prometheus text format 0.0.4): the registry's series, with the jobs-by-phase gauge and the
    /// restart counters brought up to date with the jobs reported now, then the per-job gauges written from those jobs.
    /// </summary>
    public async Task WriteAsync(Stream stream, CancellationToken cancellationToken)
    {
        // One scrape at a time: the phase gauge and the restart series are shared state.
        await _scrape.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var source = _jobSource;
            var rows = source is null ? [] : Refresh(source.Jobs(), source.Now());
            await Registry.CollectAndExportAsTextAsync(stream, cancellationToken).ConfigureAwait(false);
            if (rows.Count > 0)
            {
                await WritePerJobAsync(stream, rows, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _scrape.Release();
        }
    }

    /// <summary>
    /// Recomputes the jobs-by-phase gauge from <paramref name="jobs"/>, drops the restart series of jobs no longer
    /// there, and returns each job's per-job values (written by <see cref="WriteAsync"/>, then dropped).
    /// </summary>
    public IReadOnlyList<JobRow> Refresh(IEnumerable<(JobKind Kind, JobObject Job)> jobs, DateTimeOffset now)
    {
        var counts = new Dictionary<string[], int>(LabelComparer.Instance);
        var rows = new List<JobRow>();
        var live = new HashSet<(string, string, string)>();
        foreach (var (kind, job) in jobs)
        {
            var summary = job.Summary;
            var ns = job.Metadata.NamespaceProperty ?? "";
            var phase = summary.Phase.ToString();
            string[] jobLabels = [kind.Kind, ns, phase];
            counts[jobLabels] = counts.GetValueOrDefault(jobLabels) + 1;
            live.Add((kind.Kind, ns, job.Metadata.Name));
            rows.Add(new JobRow(
                kind.Kind,
                ns,
                job.Metadata.Name,
                summary.ProgressRatio,
                summary.LastProgressTime is { } t ? Math.Max(0, (now - t).TotalSeconds) : 0,
                summary.ImagesPerSecond,
                summary.Stalled ? 1 : 0,
                phase,
                summary.Top1));
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

            foreach (var gone in _restartSeries.Where(l => !live.Contains((l[0], l[1], l[2]))).ToList())
            {
                _restarts.RemoveLabelled(gone);
                _restartSeries.Remove(gone);
            }
        }

        return rows;
    }

    private static async Task WritePerJobAsync(Stream stream, IReadOnlyList<JobRow> rows, CancellationToken cancellationToken)
    {
        var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 16 * 1024, leaveOpen: true) { NewLine = "\n" };
        await using (writer.ConfigureAwait(false))
        {
            foreach (var family in PerJobFamilies)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await writer.WriteAsync($"# HELP {family.Name} {family.Help}\n# TYPE {family.Name} gauge\n").ConfigureAwait(false);
                for (var i = 0; i < rows.Count; i++)
                {
                    // Flushed every 100 rows (about 10 KB), so the writer's buffer never fills and flushes synchronously.
                    if (i % 100 == 99)
                    {
                        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                    }

                    var row = rows[i];
                    if (family.Value(row) is not { } value)
                    {
                        continue;
                    }

                    writer.Write(family.Name);
                    WriteJobLabels(writer, row);
                    writer.Write("} ");
                    writer.Write(FormatValue(value));
                    writer.Write('\n');
                }
            }

            // One series per job with its phase as a label (kube-state-metrics' kube_pod_status_phase shape, current
            // phase only): what alerts on one job's phase (Failed, Pending too long, stalled while Running) select on.
            await writer.WriteAsync("# HELP bit_job_phase 1 for the job's current phase.\n# TYPE bit_job_phase gauge\n").ConfigureAwait(false);
            for (var i = 0; i < rows.Count; i++)
            {
                if (i % 100 == 99)
                {
                    await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                }

                var row = rows[i];
                writer.Write("bit_job_phase");
                WriteJobLabels(writer, row);
                writer.Write(",phase=\"");
                WriteLabelValue(writer, row.Phase);
                writer.Write("\"} 1\n");
            }

            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // `{kind="..",namespace="..",name=".."` without the closing brace: every per-job series starts with these labels.
    private static void WriteJobLabels(TextWriter writer, JobRow row)
    {
        writer.Write("{kind=\"");
        WriteLabelValue(writer, row.Kind);
        writer.Write("\",namespace=\"");
        WriteLabelValue(writer, row.Namespace);
        writer.Write("\",name=\"");
        WriteLabelValue(writer, row.Name);
        writer.Write('"');
    }

    private static void WriteLabelValue(TextWriter writer, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    writer.Write("\\\\");
                    break;
                case '"':
                    writer.Write("\\\"");
                    break;
                case '\n':
                    writer.Write("\\n");
                    break;
                default:
                    writer.Write(c);
                    break;
            }
        }
    }

    internal static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
    };

    private void RefreshGc()
    {
        var info = GC.GetGCMemoryInfo();
        string[] names = ["gen0", "gen1", "gen2", "loh", "poh"];
        var generations = info.GenerationInfo;
        for (var i = 0; i < names.Length && i < generations.Length; i++)
        {
            _gcHeap.WithLabels(names[i]).Set(generations[i].SizeAfterBytes);
        }

        _gcFragmented.Set(info.FragmentedBytes);
        _gcCommitted.Set(info.TotalCommittedBytes);
    }

    /// <summary>One job's per-job values at a scrape.</summary>
    public readonly record struct JobRow(string Kind, string Namespace, string Name, double Progress, double SinceProgress, double ImagesPerSecond, double Stalled, string Phase, double? Top1 = null);

    private sealed record PerJobFamily(string Name, string Help, Func<JobRow, double?> Value);

    private sealed record JobSource(Func<IEnumerable<(JobKind Kind, JobObject Job)>> Jobs, Func<DateTimeOffset> Now);

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
