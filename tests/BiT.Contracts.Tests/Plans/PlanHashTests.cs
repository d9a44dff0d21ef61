using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Contracts.Tests.Api;

namespace BiT.Contracts.Tests.Plans;

public sealed class PlanHashTests
{
    private static readonly TrainingPlan Plan = PlanResolver.Resolve(ManifestParser.Parse(Manifests.FullFineTune), null);

    [Fact]
    public void Hash_is_lowercase_hex_sha256_and_stable()
    {
        var hash = PlanHash.Compute(Plan);
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal(hash, PlanHash.Compute(PlanResolver.Resolve(ManifestParser.Parse(Manifests.FullFineTune), null)));
    }

    [Fact]
    public void Identity_checkpointing_and_locations_do_not_change_the_hash()
    {
        var hash = PlanHash.Compute(Plan);
        Assert.Equal(hash, PlanHash.Compute(Plan with { Job = new PlanJob { Name = "other", Uid = "x" } }));
        Assert.Equal(hash, PlanHash.Compute(Plan with { Checkpoint = Plan.Checkpoint with { Keep = 9, Directory = "/c" } }));
        Assert.Equal(hash, PlanHash.Compute(Plan with { Dataset = Plan.Dataset with { Path = "/elsewhere" } }));
        Assert.Equal(hash, PlanHash.Compute(Plan with { Hyperparameters = Plan.Hyperparameters with { Overridden = [] } }));
    }

    [Fact]
    public void Result_affecting_fields_change_the_hash()
    {
        var hash = PlanHash.Compute(Plan);
        var variants = new[]
        {
            Plan with { Seed = 1 },
            Plan with { Hyperparameters = Plan.Hyperparameters with { BaseLearningRate = 0.0031 } },
            Plan with { Hyperparameters = Plan.Hyperparameters with { DecaySteps = [200, 300, 401] } },
            Plan with { Hyperparameters = Plan.Hyperparameters with { BatchSplit = 2 } },
            Plan with { Model = Plan.Model with { Blocks = [3, 4, 6, 4] } },
            Plan with { Model = Plan.Model with { Weights = Plan.Model.Weights! with { Sha256 = new string('1', 64) } } },
            Plan with { Dataset = Plan.Dataset with { NumClasses = 36 } },
            Plan with { Dataset = Plan.Dataset with { FewShotSeed = 1 } },
            Plan with { Kind = ApiInfo.PretrainKind },
        };
        var hashes = variants.Select(PlanHash.Compute).ToList();
        Assert.DoesNotContain(hash, hashes);
        Assert.Equal(hashes.Count, hashes.Distinct().Count());
    }

    [Fact]
    public void Plan_json_round_trips_with_the_same_hash()
    {
        var json = Plan.ToJson();
        var back = TrainingPlan.FromJson(json);
        Assert.Equal(PlanHash.Compute(Plan), PlanHash.Compute(back));
        Assert.Equal(json, back.ToJson());
        Assert.Contains("\"source\": \"Url\"", json, StringComparison.Ordinal);
        Assert.Contains("\"format\": \"ImageFolder\"", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"planVersion\":\"v0\",\"kind\":\"BiTFineTuneJob\"}", "planVersion")]
    [InlineData("{\"planVersion\":\"bit.training/plan-v1\",\"kind\":\"Pod\"}", "kind")]
    [InlineData("{\"planVersion\":\"bit.training/plan-v1\",\"seed\":\"x\"}", "seed")]
    [InlineData("null", "(plan)")]
    public void Bad_plan_json_is_a_plan_exception(string json, string path) =>
        Assert.Equal(path, Assert.Throws<PlanException>(() => TrainingPlan.FromJson(json)).Errors[0].Path);

    [Fact]
    public void Canonical_json_sorts_keys_drops_nulls_and_normalizes_numbers()
    {
        var a = System.Text.Json.Nodes.JsonNode.Parse("""{"b": 1.50, "a": {"z": null, "y": [1e2, "x"]}}""");
        Assert.Equal("""{"a":{"y":[100,"x"]},"b":1.5}""", CanonicalJson.Canonicalize(a));
    }

    [Fact]
    public void Resolved_hyperparameters_compare_by_value_including_lists()
    {
        var a = Plan.Hyperparameters;
        var b = TrainingPlan.FromJson(Plan.ToJson()).Hyperparameters;
        Assert.NotSame(a.DecaySteps, b.DecaySteps);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, a with { DecaySteps = [200, 300, 401] });
        Assert.NotEqual(a, a with { DecayEpochs = [1.0] });
    }
}
