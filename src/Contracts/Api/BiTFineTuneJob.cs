using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>Fine-tunes a (usually pre-trained) BiT network on a downstream task with the BiT-HyperRule.</summary>
[CustomResource(ApiInfo.FineTuneKind, ApiInfo.FineTunePlural, ApiInfo.FineTuneSingular, ApiInfo.FineTuneShortName, Categories = ["bit"])]
[Field("Fine-tunes a BiT network on a downstream task with the BiT-HyperRule.")]
[SpecCelRule(
    "!has(self.hyperparameters) || (!has(self.hyperparameters.epochs) && !has(self.hyperparameters.decayEpochs) && !has(self.hyperparameters.warmupEpochs) && !has(self.hyperparameters.weightDecay) && !has(self.hyperparameters.loss))",
    "epochs, decayEpochs, warmupEpochs, weightDecay and loss are for BiTPretrainJob only")]
public sealed record BiTFineTuneJob : BiTJob
{
    /// <summary>A job with kind and apiVersion set.</summary>
    public BiTFineTuneJob() => Kind = ApiInfo.FineTuneKind;
}
