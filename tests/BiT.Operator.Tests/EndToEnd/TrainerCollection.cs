namespace BiT.Operator.Tests.EndToEnd;

/// <summary>Tests that run the real trainer share one cluster and run one after another (the CPU is the limit).</summary>
[CollectionDefinition(Name)]
public sealed class TrainerCollection : ICollectionFixture<TrainerCluster>
{
    public const string Name = "real trainer";
}
