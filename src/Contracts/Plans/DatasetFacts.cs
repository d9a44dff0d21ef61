namespace BiT.Contracts.Plans;

/// <summary>What the trainer measured from the data; the spec's own values win where it gives them.</summary>
/// <param name="TrainExamples">Images in the training split (after the spec's class subset, before few-shot).</param>
/// <param name="ImageHeight">Height of the original images (the HyperRule reads the area).</param>
/// <param name="ImageWidth">Width of the original images.</param>
public sealed record DatasetFacts(long TrainExamples, int ImageHeight, int ImageWidth);
