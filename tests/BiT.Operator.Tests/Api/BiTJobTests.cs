using System.Text.Json;
using BiT.Operator.Api;
using k8s;

namespace BiT.Operator.Tests.Api;

/// <summary>A job keeps its spec and status as JSON text and parses them when read.</summary>
public sealed class BiTJobTests
{
    private const string Json = """
        {"apiVersion":"bit.training/v1alpha1","kind":"BiTPretrainJob","metadata":{"name":"up","namespace":"ml"},
         "spec":{"model":{"architecture":"R50x1"},"dataset":{"numClasses":1000,"path":"/data/é"}},
         "status":{"phase":"Pending","progress":{"step":12,"loss":0.5},"unknownField":{"kept":[1,2,3]}}}
        """;

    [Fact]
    public void Spec_and_status_round_trip_unchanged_including_fields_the_operator_does_not_know()
    {
        var job = KubernetesJson.Deserialize<BiTJob>(Json);
        using var expected = JsonDocument.Parse(Json);
        Assert.Equal(expected.RootElement.GetProperty("spec").GetRawText(), job.Spec.GetRawText());
        Assert.Equal(expected.RootElement.GetProperty("status").GetRawText(), job.Status!.Value.GetRawText());
        Assert.Equal("/data/é", job.Spec.GetProperty("dataset").GetProperty("path").GetString());

        var again = KubernetesJson.Deserialize<BiTJob>(KubernetesJson.Serialize(job));
        Assert.True(JsonElement.DeepEquals(expected.RootElement.GetProperty("status"), again.Status!.Value));
        Assert.True(JsonElement.DeepEquals(expected.RootElement.GetProperty("spec"), again.Spec));
    }

    [Fact]
    public void Each_read_is_independent_of_the_document_it_was_set_from()
    {
        var job = new BiTJob();
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
        var job = KubernetesJson.Deserialize<BiTJob>("""{"apiVersion":"bit.training/v1alpha1","kind":"BiTFineTuneJob","metadata":{"name":"x"}}""");
        Assert.Equal(JsonValueKind.Undefined, job.Spec.ValueKind);
        Assert.Null(job.Status);
        Assert.Null(job.FromPretrainJob);

        job.Status = null;
        Assert.Null(job.Status);
    }

    [Fact]
    public void The_upstream_pretrain_job_is_read_from_the_spec_when_it_is_set()
    {
        var job = new BiTJob { Spec = JsonSerializer.SerializeToElement(new { model = new { weights = new { fromPretrainJob = new { name = "big" } } } }) };
        Assert.Equal("big", job.FromPretrainJob);
        job.Spec = JsonSerializer.SerializeToElement(new { model = new { architecture = "R50x1" } });
        Assert.Null(job.FromPretrainJob);
    }
}
