using static TorchSharp.torch;

namespace BiT.Trainer.Training;

/// <summary>
/// How the engine gets its network: <see cref="Create"/> builds it with a head of the run's classes and its initial
/// weights (random, or pre-trained with a fresh zero head), <see cref="SaveFinal"/> writes the published layout.
/// </summary>
public sealed record ModelSpec(Func<nn.Module<Tensor, Tensor>> Create, Action<nn.Module<Tensor, Tensor>, string> SaveFinal, string Description);
