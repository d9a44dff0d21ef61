namespace BiT.Trainer.Tests;

/// <summary>
/// Tests that seed and draw from libtorch's process-wide generator (model initialisation) run one at a time:
/// a parallel test drawing between another's manual_seed and its model construction would change its weights.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchCollection
{
    public const string Name = "torch global RNG";
}
