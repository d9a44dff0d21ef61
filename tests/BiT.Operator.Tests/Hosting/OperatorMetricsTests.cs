using System.Text.Json.Nodes;
using BiT.Operator.Api;
using BiT.Operator.Hosting;
using BiT.Operator.Tests.Controllers;
using Prometheus;

namespace BiT.Operator.Tests.Hosting;

public sealed class OperatorMetricsTests
{
    private static async Task<string> Scrape(CollectorRegistry registry)
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
        metrics.Refresh([(JobKind.FineTune, a), (JobKind.FineTune, b)], JobFixtures.T0.AddSeconds(30));
        var text = await Scrape(metrics.Registry);
        Assert.Contains("bit_jobs{kind=\"BiTFineTuneJob\",namespace=\"ml\",phase=\"Running\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_progress_ratio{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\"} 0.25", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_seconds_since_progress{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\"} 30", text, StringComparison.Ordinal);
        Assert.Contains("bit_job_restarts_total{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"a\",reason=\"Evicted\"} 1", text, StringComparison.Ordinal);

        metrics.Refresh([(JobKind.FineTune, b)], JobFixtures.T0.AddSeconds(40));
        text = await Scrape(metrics.Registry);
        Assert.DoesNotContain("name=\"a\"", text, StringComparison.Ordinal);
        Assert.Contains("bit_jobs{kind=\"BiTFineTuneJob\",namespace=\"ml\",phase=\"Running\"} 1", text, StringComparison.Ordinal);
    }
}
