using BiT.Contracts.Api;

namespace BiT.Contracts.Tests.Api;

/// <summary>spec.resources.workers and processesPerWorker: the world they make must split the global batch.</summary>
public sealed class WorldSizeTests
{
    private static string Manifest(string resources, string hyperparameters = "{batchSize: 8}") => Manifests.MinimalFineTune + $"""

          hyperparameters: {hyperparameters}
          resources: {resources}
        """;

    private static IReadOnlyList<FieldError> Errors(string resources, string hyperparameters = "{batchSize: 8}")
    {
        try
        {
            ManifestParser.Parse(Manifest(resources, hyperparameters));
            return [];
        }
        catch (ManifestException e)
        {
            return e.Errors;
        }
    }

    [Theory]
    [InlineData("{}", 1)]
    [InlineData("{workers: 2}", 2)]
    [InlineData("{workers: 2, processesPerWorker: 2}", 4)]
    [InlineData("{workers: 2, gpus: 4}", 8)]
    [InlineData("{gpus: 2}", 2)]
    public void World_size_is_workers_times_processes_per_pod(string resources, int world)
    {
        var job = ManifestParser.Parse(Manifest(resources));
        Assert.Equal(world, (job.Spec.Resources ?? new ResourcesSpec()).WorldSize);
    }

    [Fact]
    public void A_world_that_does_not_divide_the_batch_is_refused_naming_both_fields()
    {
        var error = Assert.Single(Errors("{workers: 3}"));
        Assert.Equal("spec.hyperparameters.batchSize", error.Path);
        Assert.Contains("batchSize 8", error.Message, StringComparison.Ordinal);
        Assert.Contains("spec.resources.workers 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("world size 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_batch_is_checked_when_none_is_given()
    {
        // The HyperRule's 512 is not a multiple of 3 x 1.
        var error = Assert.Single(Errors("{workers: 3}", "{}"));
        Assert.Contains("the default batchSize 512", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_batch_split_must_divide_each_ranks_share()
    {
        // 8 / 4 ranks = 2 images each: a split of 4 does not divide it (though it divides 8).
        var error = Assert.Single(Errors("{workers: 2, processesPerWorker: 2}", "{batchSize: 8, batchSplit: 4}"));
        Assert.Equal("spec.hyperparameters.batchSplit", error.Path);
        Assert.Contains("2 images", error.Message, StringComparison.Ordinal);
        Assert.Empty(Errors("{workers: 2, processesPerWorker: 2}", "{batchSize: 8, batchSplit: 2}"));
    }

    [Fact]
    public void A_gpu_pod_runs_one_process_per_gpu()
    {
        var error = Assert.Single(Errors("{gpus: 2, processesPerWorker: 4}"));
        Assert.Equal("spec.resources.processesPerWorker", error.Path);
        Assert.Empty(Errors("{gpus: 2, processesPerWorker: 2}"));
    }

    [Theory]
    [InlineData("{workers: 0}", "spec.resources.workers")]
    [InlineData("{workers: 65}", "spec.resources.workers")]
    [InlineData("{processesPerWorker: 0}", "spec.resources.processesPerWorker")]
    [InlineData("{podGroup: Yunikorn}", "spec.resources.podGroup")]
    public void Out_of_range_values_are_refused(string resources, string path)
    {
        Assert.Contains(Errors(resources), e => e.Path == path);
    }

    [Fact]
    public void The_status_hyperparameters_show_the_per_rank_micro_batch()
    {
        var h = new ResolvedHyperparameters { BatchSize = 512, BatchSplit = 4 }.ForWorld(8);
        Assert.Equal(8, h.WorldSize);
        Assert.Equal(16, h.RankMicroBatch);
    }

    [Fact]
    public void The_gang_example_is_valid_and_runs_eight_ranks_of_64_images()
    {
        var job = ManifestParser.ParseFile(Path.Combine(RepoPaths.Root, "examples", "finetune-pets-gang.yaml"));
        var resources = job.Spec.Resources!;
        Assert.Equal((2, 4, 8), (resources.Workers, resources.ProcessesPerPod, resources.WorldSize));
        Assert.Equal(64, job.Spec.Hyperparameters!.BatchSize / resources.WorldSize);
    }
}
