using static TorchSharp.torch;

namespace BiT.Trainer.Training;

/// <summary>
/// How the engine gets its network: <see cref="Create"/> builds it with a head of the run's classes and its initial
/// weights (random, or pre-trained with a fresh zero head), <see cref="SaveFinal"/> writes the published layout.
/// Not the API's <c>BiT.Contracts.Api.ModelSpec</c> (a job spec's <c>model</c> section, what to train).
/// </summary>
public sealed record NetworkSpec(Func<nn.Module<Tensor, Tensor>> Create, Action<nn.Module<Tensor, Tensor>, string> SaveFinal, string Description);
