using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts.Api;

namespace BiT.Contracts.Tests.Api;

public sealed class JsonTests
{
    [Fact]
    public void A_job_round_trips_through_the_api_servers_json()
    {
        var job = ManifestParser.Parse(Manifests.FullFineTune);
        var json = BiTJson.Serialize(job);
        var back = Assert.IsType<BiTFineTuneJob>(BiTJson.DeserializeJob(json));
        Assert.Equal(json, BiTJson.Serialize(back));
        Assert.Empty(SpecValidator.Validate(back));
    }

    [Fact]
    public void Json_is_camel_case_with_string_enums_go_durations_and_no_nulls()
    {
        var job = ManifestParser.Parse(Manifests.FullFineTune);
        var node = JsonNode.Parse(BiTJson.Serialize(job))!;
        Assert.Equal("bit.training/v1alpha1", (string?)node["apiVersion"]);
        Assert.Equal("BiTFineTuneJob", (string?)node["kind"]);
        Assert.Equal("ImageFolder", (string?)node["spec"]!["dataset"]!["format"]);
        Assert.Equal(37, (int?)node["spec"]!["dataset"]!["numClasses"]);
        Assert.Equal("15m", (string?)node["spec"]!["runPolicy"]!["stallTimeout"]);
        Assert.Equal("24h", (string?)node["spec"]!["runPolicy"]!["maxSegmentDuration"]);
        Assert.Equal("Restart", (string?)node["spec"]!["runPolicy"]!["onStall"]);
        Assert.Null(node["status"]);
        Assert.False(node["spec"]!["model"]!.AsObject().ContainsKey("blocks"));
    }

    [Fact]
    public void Objects_from_the_api_server_read_despite_extra_metadata_and_numeric_quantities()
    {
        const string json = """
            {"apiVersion":"bit.training/v1alpha1","kind":"BiTPretrainJob",
             "metadata":{"name":"up","namespace":"ml","uid":"1234","generation":3,"resourceVersion":"77",
               "creationTimestamp":"2026-11-26T13:45:07Z","managedFields":[{"manager":"kubectl"}]},
             "spec":{"model":{"architecture":"R50x1"},"dataset":{"format":"Idx","path":"/d","numClasses":5},
               "resources":{"cpu":8,"memory":"1Gi"}},
             "status":{"phase":"Running","observedGeneration":3,"restarts":1,
               "conditions":[{"type":"Running","status":"True","reason":"PodRunning","lastTransitionTime":"2026-11-26T13:46:00Z"}],
               "progress":{"step":120,"totalSteps":500,"display":"120/500","eta":"2m10s"}}}
            """;
        var job = Assert.IsType<BiTPretrainJob>(BiTJson.DeserializeJob(json));
        Assert.Equal(3, job.Metadata.Generation);
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 13, 45, 7, TimeSpan.Zero), job.Metadata.CreationTimestamp);
        Assert.Equal("8", job.Spec.Resources!.Cpu);
        Assert.Equal(JobPhase.Running, job.Status!.Phase);
        Assert.Equal(TimeSpan.FromSeconds(130), job.Status.Progress!.Eta!.Value.Value);
        Assert.Equal("PodRunning", job.Status.Conditions![0].Reason);
        Assert.Empty(SpecValidator.Validate(job));
    }

    [Fact]
    public void Times_are_written_as_whole_seconds_in_utc()
    {
        var status = new BiTJobStatus { StartTime = new DateTimeOffset(2026, 1, 2, 17, 4, 5, 678, TimeSpan.FromHours(2)) };
        var json = BiTJson.Serialize(status);
        Assert.Equal("""{"startTime":"2026-01-02T15:04:05Z"}""", json);
    }

    [Fact]
    public void The_same_rules_run_on_a_spec_read_as_json()
    {
        const string json = """
            {"apiVersion":"bit.training/v1alpha1","kind":"BiTFineTuneJob","metadata":{"name":"a"},
             "spec":{"model":{"architecture":"Custom","blocks":[1,1,1],"widthFactor":0.5},
               "dataset":{"format":"Idx","path":"/d","numClasses":1},
               "hyperparameters":{"epochs":3}}}
            """;
        var errors = SpecValidator.Validate(BiTJson.DeserializeJob(json)).Select(e => e.ToString()).ToList();
        Assert.Contains("spec.model.blocks: must have exactly 4 items, got 3", errors);
        Assert.Contains("spec.dataset.numClasses: must be >= 2, got 1", errors);
        Assert.Contains("spec.hyperparameters.epochs: only allowed in a BiTPretrainJob", errors);
    }

    [Theory]
    [InlineData("""{"kind":"Pod"}""", "kind")]
    [InlineData("""[1]""", "kind")]
    [InlineData("""{"kind":"BiTFineTuneJob","spec":{"dataset":{"numClasses":"x"}}}""", "spec.dataset.numClasses")]
    [InlineData("""{"kind":"BiTFineTuneJob","spec":{"runPolicy":{"stallTimeout":"soon"}}}""", "spec.runPolicy.stallTimeout")]
    [InlineData("""{not json""", "(json)")]
    public void Bad_json_gets_a_manifest_exception_naming_the_field(string json, string path)
    {
        var ex = Assert.Throws<ManifestException>(() => BiTJson.DeserializeJob(json));
        Assert.Equal(path, ex.Errors[0].Path);
    }

    [Fact]
    public void Transition_rules_forbid_changing_model_or_dataset()
    {
        var a = ManifestParser.Parse(Manifests.MinimalFineTune).Spec;
        var b = a with { Dataset = a.Dataset! with { NumClasses = 38 } };
        var c = a with { Suspend = true, Seed = 3 };
        Assert.Equal(["spec.dataset"], SpecValidator.ValidateTransition(a, b).Select(e => e.Path));
        Assert.Empty(SpecValidator.ValidateTransition(a, c));
        var d = a with { Model = a.Model! with { Architecture = "R101x1" } };
        Assert.Equal(["spec.model"], SpecValidator.ValidateTransition(a, d).Select(e => e.Path));
    }

    [Fact]
    public void Progress_display_is_step_slash_total()
    {
        var p = ProgressStatus.Create(120, 500);
        Assert.Equal("120/500", p.Display);
        Assert.Equal("""{"step":120,"totalSteps":500,"display":"120/500"}""", JsonSerializer.Serialize(p, BiTJson.Options));
    }
}
