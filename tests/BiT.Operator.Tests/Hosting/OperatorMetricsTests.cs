using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Operator.Api;
using BiT.Operator.Hosting;
using BiT.Operator.Tests.Controllers;
using Prometheus;

namespace BiT.Operator.Tests.Hosting;

public sealed class OperatorMetricsTests
{
    // What /metrics serves: the registry's series plus the per-job series written from the reported jobs.
    private static async Task<string> Scrape(OperatorMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.WriteAsync(stream, CancellationToken.None);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static async Task<string> ScrapeRegistry(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public async Task Per_job_series_follow_the_cache_and_disappear_with_the_job()
    {
        var metrics = new OperatorMetrics(Metrics.NewCustomRegistry());
        var a = JobFixtures.WithStatusPatch(JobFixtures.Job(name: "a"), new JsonObject { ["phase"] = "Running" });
        a = JobFixtures.WithTrainerStatus(a, 25, JobFixtures.T0);
        var b = JobFixtures.WithStatusPatch(JobFixtures.Job(name: "b"), new JsonObject { ["phase"] = "Running" });
        metrics.Restarted(JobKind.FineTune, "ml", "a", "Evicted");
        metrics.ReportJobs(() => [(JobKind.FineTune, a), (JobKind.FineTune, b)], () => JobFixtures.T0.AddSeconds(30));
        var text = await Scrape(metrics);
        Assert.Contains("bit_jobs{kind=\"BiTFineTuneJob\",namespace=\"ml\",phase=\"Running\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_progress_ratio{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\"} 0.25", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_seconds_since_progress{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\"} 30", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_restarts_total{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\",reason=\"Evicted\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_phase{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\",phase=\"Running\"} 1", text, StringComparison.Ordinal);
        Assert.Single(text.Split('\n'), l => l.StartsWith("bit_job_phase{", StringComparison.Ordinal) && l.Contains("name=\"a\"", StringComparison.Ordinal));

        // Top-1 only for a job with a result: the trainer's own gauge goes with its pod.
        Assert.DoesNotContain("bit_job_top1{", text, StringComparison.Ordinal);
        var done = JobFixtures.WithStatusPatch(JobFixtures.Job(name: "done"), new JsonObject { ["phase"] = "Succeeded", ["result"] = new JsonObject { ["top1"] = 0.875 } });
        metrics.ReportJobs(() => [(JobKind.FineTune, a), (JobKind.FineTune, done)], () => JobFixtures.T0.AddSeconds(35));
        text = await Scrape(metrics);
        Assert.Single(text.Split('\n'), l => l.StartsWith("bit_job_top1{", StringComparison.Ordinal));
        Assert.Contains("bit_job_top1{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"done\"} 0.875", text, StringComparison.Ordinal);

        metrics.ReportJobs(() => [(JobKind.FineTune, b)], () => JobFixtures.T0.AddSeconds(40));
        text = await Scrape(metrics);
        Assert.DoesNotContain("name=\"a\"", text, StringComparison.Ordinal);
        Assert.Contains("bit_jobs{kind=\"BiTFineTuneJob\",namespace=\"ml\",phase=\"Running\"} 1", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Per_job_series_are_written_from_the_cache_at_scrape_time_and_not_kept()
    {
        var metrics = new OperatorMetrics(Metrics.NewCustomRegistry());
        var cache = new List<(JobKind, JobObject)> { (JobKind.FineTune, JobFixtures.WithTrainerStatus(JobFixtures.Job(name: "a"), 10, JobFixtures.T0)) };
        var now = JobFixtures.T0.AddSeconds(5);
        var reads = 0;
        metrics.ReportJobs(() =>
        {
            reads++;
            return [.. cache];
        }, () => now);

        var text = await Scrape(metrics);
        Assert.Equal(1, reads);
        Assert.Contains("# TYPE bit_job_progress_ratio gauge", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_progress_ratio{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\"} 0.1", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_seconds_since_progress{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\"} 5", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_stalled{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\"} 0", text, StringComparison.Ordinal);
        Assert.Single(text.Split('\n'), l => l.StartsWith("# TYPE bit_job_images_per_second ", StringComparison.Ordinal));

        // Nothing per job stays in the registry between scrapes.
        var resident = await ScrapeRegistry(metrics.Registry);
        Assert.DoesNotContain("name=\"a\"", resident, StringComparison.Ordinal);

        // The cache changes with no call to the metrics: the next scrape reads it again.
        cache[0] = (JobKind.FineTune, JobFixtures.WithTrainerStatus(JobFixtures.Job(name: "a"), 50, JobFixtures.T0));
        cache.Add((JobKind.FineTune, JobFixtures.Job(name: "we\"ird")));
        now = JobFixtures.T0.AddSeconds(20);
        text = await Scrape(metrics);
        Assert.Equal(2, reads);
        Assert.Contains("bit_job_progress_ratio{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\"} 0.5", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_seconds_since_progress{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\"} 20", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_progress_ratio{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"we\\\"ird\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("bit_jobs{kind=\"BiTFineTuneJob\",namespace=\"ml\",phase=\"Pending\"} 2", text, StringComparison.Ordinal);

        // No jobs reported (not leading): no per-job series at all.
        metrics.ReportJobs(null);
        text = await Scrape(metrics);
        Assert.DoesNotContain("bit_job_progress_ratio{", text, StringComparison.Ordinal);
        Assert.DoesNotContain("# TYPE bit_job_progress_ratio", text, StringComparison.Ordinal);
    }
}
