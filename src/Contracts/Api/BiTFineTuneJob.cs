using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>Fine-tunes a (usually pre-trained) BiT network on a downstream task with the BiT-HyperRule.</summary>
[CustomResource(ApiInfo.FineTuneKind, ApiInfo.FineTunePlural, ApiInfo.FineTuneSingular, ApiInfo.FineTuneShortName, Categories = ["bit"])]
[Field("Fine-tunes a BiT network on a downstream task with the BiT-HyperRule.")]
[PrinterColumn(0, "Phase", "string", ".status.phase")]
[PrinterColumn(1, "Progress", "string", ".status.progress.display", Description = "step/totalSteps")]
[PrinterColumn(2, "Top1", "number", ".status.result.top1")]
[PrinterColumn(3, "Restarts", "integer", ".status.restarts")]
[PrinterColumn(4, "Age", "date", ".metadata.creationTimestamp")]
[SpecCelRule(
    "!has(self.hyperparameters) || (!has(self.hyperparameters.epochs) && !has(self.hyperparameters.decayEpochs) && !has(self.hyperparameters.warmupEpochs) && !has(self.hyperparameters.weightDecay) && !has(self.hyperparameters.loss))",
    "epochs, decayEpochs, warmupEpochs, weightDecay and loss are for BiTPretrainJob only")]
public sealed record BiTFineTuneJob : BiTJob
{
    /// <summary>A job with kind and apiVersion set.</summary>
    public BiTFineTuneJob() => Kind = ApiInfo.FineTuneKind;
}
