namespace BiT.Contracts.Plans;

/// <summary>Where things are as the trainer will see them.</summary>
public sealed record PlanResolverOptions
{
    /// <summary>Folder of the manifest: relative dataset and weight paths resolve against it (null = leave them relative).</summary>
    public string? ManifestDirectory { get; init; }

    /// <summary>Path of a BiTPretrainJob's final model as the trainer sees it, by job name (null = leave unset).</summary>
    public Func<string, string>? PretrainModelPath { get; init; }

    /// <summary>
    /// When trainExamples or imageSize are neither in the spec nor measured (the operator cannot read the data),
    /// return a deferred plan that the trainer finishes with <see cref="PlanResolver.Complete"/> instead of failing.
    /// </summary>
    public bool DeferUnmeasuredFacts { get; init; }

    /// <summary>
    /// The caller has validated the job with <see cref="Api.SpecValidator.Validate"/> already (the operator's job view),
    /// so <see cref="PlanResolver.Resolve"/> does not validate it again.
    /// </summary>
    public bool Validated { get; init; }

    /// <summary>Checkpoint folder as the trainer sees it (null = the trainer's work directory).</summary>
    public string? CheckpointDirectory { get; init; }
}
