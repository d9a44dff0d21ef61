using BiT.Contracts.Plans;
using BiT.Contracts.Pods;
using BiT.Trainer.Commands;

namespace BiT.Trainer.Tests.Commands;

/// <summary><c>train --processes N</c> in a pod of a larger world: the operator's environment decides the ranks.</summary>
public sealed class PodWorldTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] values)
    {
        var map = values.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return name => map.GetValueOrDefault(name);
    }

    [Fact]
    public void Without_a_world_size_the_machine_is_the_world()
    {
        Assert.Null(LocalLauncher.PodWorld.FromEnvironment(Env(), 2));
    }

    [Fact]
    public void A_pod_of_a_larger_world_numbers_its_ranks_from_its_node_rank()
    {
        var world = LocalLauncher.PodWorld.FromEnvironment(Env((TrainerEnv.WorldSize, "6"), (TrainerEnv.NodeRank, "2"), (TrainerEnv.MasterPort, "29500")), 2);
        Assert.Equal(new LocalLauncher.PodWorld(6, 2), world);
    }

    [Theory]
    [InlineData("5", "0", "29500", "leave no room")]
    [InlineData("4", "2", "29500", "leave no room")]
    [InlineData("four", "0", "29500", TrainerEnv.WorldSize)]
    [InlineData("4", "-1", "29500", TrainerEnv.NodeRank)]
    [InlineData("4", "0", "", TrainerEnv.MasterPort)]
    public void A_world_the_pod_does_not_fit_is_an_error_naming_the_variable(string size, string node, string port, string named)
    {
        var e = Assert.Throws<PlanException>(() => LocalLauncher.PodWorld.FromEnvironment(Env((TrainerEnv.WorldSize, size), (TrainerEnv.NodeRank, node), (TrainerEnv.MasterPort, port)), 2));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }
}
