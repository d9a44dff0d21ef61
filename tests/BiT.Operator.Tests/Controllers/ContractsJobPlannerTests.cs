using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Plans;
using BiT.Contracts.Pods;
using BiT.Operator.Api;
using BiT.Operator.Controllers;

namespace BiT.Operator.Tests.Controllers;

public sealed class ContractsJobPlannerTests
{
    internal static JsonObject RealSpec() => new()
    {
        ["model"] = new JsonObject { ["architecture"] = "Custom", ["blocks"] = new JsonArray(1, 1, 1, 1), ["widthFactor"] = 0.5 },
        ["dataset"] = new JsonObject
        {
            ["format"] = "Idx",
            ["path"] = "/data/fashion",
            ["numClasses"] = 10,
            ["trainExamples"] = 1000,
            ["imageSize"] = new JsonObject { ["height"] = 28, ["width"] = 28 },
        },
        ["hyperparameters"] = new JsonObject { ["batchSize"] = 32, ["totalSteps"] = 20, ["precropSize"] = 36, ["cropSize"] = 32 },
        ["checkpoint"] = new JsonObject { ["everySteps"] = 5 },
    };

    private static JobView View(BiT.Operator.Api.JobObject job) => JobView.Of(JobKind.FineTune, job);

    private static PlanContext Context(string? weights = null) =>
        new(JobKind.FineTune, "ml", "pets", "uid-1", PodPaths.Checkpoints, weights);

    [Fact]
    public void A_valid_spec_resolves_into_a_plan_with_the_jobs_identity_and_checkpoint_directory()
    {
        var (plan, errors) = new ContractsJobPlanner().Plan(View(JobFixtures.Job(RealSpec())), Context());
        Assert.Empty(errors);
        Assert.NotNull(plan);
        Assert.Equal(20, plan.Hyperparameters!.TotalSteps);
        Assert.Empty(plan.Missing);
        Assert.Matches("^[0-9a-f]{64}$", plan.PlanHash);
        var parsed = TrainingPlan.FromJson(plan.PlanJson);
        Assert.Equal(("ml", "pets", "uid-pets"), (parsed.Job.Namespace, parsed.Job.Name, parsed.Job.Uid));
        Assert.Equal(PodPaths.Checkpoints, parsed.Checkpoint.Directory);
        Assert.Equal(plan.PlanHash, PlanHash.Compute(parsed));
    }

    [Fact]
    public void Fine_tuning_from_a_pretrain_job_points_the_weights_at_the_mounted_output()
    {
        var spec = RealSpec();
        spec["model"]!["weights"] = new JsonObject { ["fromPretrainJob"] = new JsonObject { ["name"] = "up" } };
        var (plan, errors) = new ContractsJobPlanner().Plan(View(JobFixtures.Job(spec)), Context("/pretrained/final/model.npz"));
        Assert.Empty(errors);
        Assert.Equal("/pretrained/final/model.npz", TrainingPlan.FromJson(plan!.PlanJson).Model.Weights!.Path);
    }

    [Theory]
    [InlineData("numClasses", "spec.dataset.numClasses")]
    [InlineData("path", "spec.dataset.path")]
    public void Bad_fields_are_errors_naming_the_field(string remove, string field)
    {
        var spec = RealSpec();
        spec["dataset"]!.AsObject().Remove(remove);
        var (plan, errors) = new ContractsJobPlanner().Plan(View(JobFixtures.Job(spec)), Context());
        Assert.Null(plan);
        Assert.Contains(errors, e => e.Path == field);
    }

    [Fact]
    public void Facts_only_the_data_can_give_defer_the_plan_and_the_status_shows_only_what_is_known()
    {
        var spec = RealSpec();
        spec["dataset"]!.AsObject().Remove("trainExamples");
        spec["dataset"]!.AsObject().Remove("imageSize");
        var (plan, errors) = new ContractsJobPlanner().Plan(View(JobFixtures.Job(spec)), Context());
        Assert.Empty(errors);
        Assert.NotNull(plan);
        var parsed = TrainingPlan.FromJson(plan.PlanJson);
        Assert.True(parsed.IsDeferred);
        Assert.Equal(["spec.dataset.trainExamples", "spec.dataset.imageSize"], parsed.Deferred!.Missing);
        Assert.Equal(plan.PlanHash, PlanHash.Compute(parsed));

        // The placeholder hyperparameters never reach the status: the planner names what is still missing instead.
        Assert.Null(plan.Hyperparameters);
        Assert.Equal(["spec.dataset.trainExamples", "spec.dataset.imageSize"], plan.Missing);
    }
}
