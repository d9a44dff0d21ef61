using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Trainer.Training;

namespace BiT.Trainer.Tests.Commands;

public sealed class ExampleManifestTests
{
    private static string Example(string name) => Path.Combine(TestPaths.RepoRoot, "examples", name);

    [Fact]
    public void The_readme_example_resolves_against_the_embedded_data()
    {
        var job = ManifestParser.ParseFile(Example("finetune-fashion-mnist.yaml"));
        var path = Path.GetFullPath(Path.Combine(TestPaths.RepoRoot, "examples", job.Spec.Dataset!.Path));
        var facts = PlanAdapter.Measure(job.Spec.Dataset.Format!.Value, path, job.Spec.Dataset.NumClasses, job.Spec.Dataset.Classes, _ => { });
        Assert.Equal(new DatasetFacts(1000, 28, 28), facts);
        var plan = PlanResolver.Resolve(job, facts, new PlanResolverOptions { ManifestDirectory = Path.Combine(TestPaths.RepoRoot, "examples") });
        Assert.Equal(Path.GetFullPath(TestPaths.FashionSubset), Path.GetFullPath(plan.Dataset.Path));
        Assert.Equal("Custom", plan.Model.Architecture);
    }

    [Fact]
    public void The_full_dataset_example_is_the_medium_regime_with_mixup()
    {
        var job = ManifestParser.ParseFile(Example("finetune-fashion-mnist-full.yaml"));
        Assert.Equal("/usr/share/datasets/fashion-mnist", job.Spec.Dataset!.Path);
        // What the Debian package holds: 60,000 training images of 28x28.
        var plan = PlanResolver.Resolve(job, new DatasetFacts(60_000, 28, 28));
        Assert.Equal(0.1, plan.Hyperparameters.MixupAlpha);
        Assert.Equal(1000, plan.Hyperparameters.TotalSteps);
    }
}
