using System.Text.Json;
using BiT.Operator.Api;
using k8s;

namespace BiT.Operator.Tests.Api;

/// <summary>A job keeps its spec and status as JSON text and parses them when read.</summary>
public sealed class JobObjectTests
{
    private const string Json = """
        {"apiVersion":"bit.training/v1alpha1","kind":"BiTPretrainJob","metadata":{"name":"up","namespace":"ml"},
         "spec":{"model":{"architecture":"R50x1"},"dataset":{"numClasses":1000,"path":"/data/é"}},
         "status":{"phase":"Pending","progress":{"step":12,"loss":0.5},"unknownField":{"kept":[1,2,3]}}}
        """;

    [Fact]
    public void Spec_and_status_round_trip_unchanged_including_fields_the_operator_does_not_know()
    {
        var job = KubernetesJson.Deserialize<JobObject>(Json);
        using var expected = JsonDocument.Parse(Json);
        Assert.Equal(expected.RootElement.GetProperty("spec").GetRawText(), job.Spec.GetRawText());
        Assert.Equal(expected.RootElement.GetProperty("status").GetRawText(), job.Status!.Value.GetRawText());
        Assert.Equal("/data/é", job.Spec.GetProperty("dataset").GetProperty("path").GetString());

        var again = KubernetesJson.Deserialize<JobObject>(KubernetesJson.Serialize(job));
        Assert.True(JsonElement.DeepEquals(expected.RootElement.GetProperty("status"), again.Status!.Value));
        Assert.True(JsonElement.DeepEquals(expected.RootElement.GetProperty("spec"), again.Spec));
    }

    [Fact]
    public void Each_read_is_independent_of_the_document_it_was_set_from()
    {
        var job = new JobObject();
        using (var doc = JsonDocument.Parse("""{"model":{"architecture":"R101x3"}}"""))
        {
            job.Spec = doc.RootElement;
            job.Status = doc.RootElement;
        }

        // The document is disposed (its buffers returned to the pool): the job kept its own copy.
        Assert.Equal("R101x3", job.Spec.GetProperty("model").GetProperty("architecture").GetString());
        Assert.Equal("R101x3", job.Status!.Value.GetProperty("model").GetProperty("architecture").GetString());
        Assert.Equal(job.RawBytes, 2 * """{"model":{"architecture":"R101x3"}}""".Length);
    }

    [Fact]
    public void A_job_without_spec_or_status_reads_as_undefined_and_null()
    {
        var job = KubernetesJson.Deserialize<JobObject>("""{"apiVersion":"bit.training/v1alpha1","kind":"BiTFineTuneJob","metadata":{"name":"x"}}""");
        Assert.Equal(JsonValueKind.Undefined, job.Spec.ValueKind);
        Assert.Null(job.Status);
        Assert.Null(job.FromPretrainJob);

        job.Status = null;
        Assert.Null(job.Status);
    }

    [Fact]
    public void The_upstream_pretrain_job_is_read_from_the_spec_when_it_is_set()
    {
        var job = new JobObject { Spec = JsonSerializer.SerializeToElement(new { model = new { weights = new { fromPretrainJob = new { name = "big" } } } }) };
        Assert.Equal("big", job.FromPretrainJob);
        job.Spec = JsonSerializer.SerializeToElement(new { model = new { architecture = "R50x1" } });
        Assert.Null(job.FromPretrainJob);
    }

    [Fact]
    public void The_metrics_summary_and_the_reconcile_view_read_the_same_status_and_follow_each_new_status()
    {
        var job = KubernetesJson.Deserialize<JobObject>(Json);
        string[] statuses =
        [
            """{"phase":"Running","progress":{"step":50,"totalSteps":200,"imagesPerSecond":12.5,"lastProgressTime":"2026-01-01T00:00:00Z"}}""",
            """{"phase":"Running","progress":{"step":60,"totalSteps":200},"conditions":[{"type":"Stalled","status":"True","reason":"NoProgress","lastTransitionTime":"2026-01-01T00:10:00Z"}]}""",
            """{"phase":"Succeeded","progress":{"step":200,"totalSteps":200}}""",
        ];
        foreach (var status in statuses)
        {
            using var doc = JsonDocument.Parse(status);
            job.Status = doc.RootElement;
            var view = JobView.Of(BiT.Contracts.JobKind.Pretrain, job);
            Assert.Equal(JobSummary.Of(view.Status), job.Summary);
        }

        Assert.Equal(BiT.Contracts.Api.JobPhase.Succeeded, job.Summary.Phase);
        Assert.Equal(1.0, job.Summary.ProgressRatio);
    }

    [Fact]
    public void The_stalled_gauge_is_for_jobs_still_meant_to_run_not_for_failed_ones_whose_stalled_condition_kstatus_reads()
    {
        var job = KubernetesJson.Deserialize<JobObject>(Json);
        using (var running = JsonDocument.Parse("""{"phase":"Running","conditions":[{"type":"Stalled","status":"True","reason":"NoProgress","lastTransitionTime":"2026-01-01T00:10:00Z"}]}"""))
        {
            job.Status = running.RootElement;
        }

        Assert.True(job.Summary.Stalled);
        using (var failed = JsonDocument.Parse("""{"phase":"Failed","conditions":[{"type":"Stalled","status":"True","reason":"TrainerFailed","lastTransitionTime":"2026-01-01T00:10:00Z"}]}"""))
        {
            job.Status = failed.RootElement;
        }

        Assert.False(job.Summary.Stalled);
    }
}
