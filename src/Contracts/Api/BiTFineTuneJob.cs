using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>Fine-tunes a (usually pre-trained) BiT network on a downstream task with the BiT-HyperRule.</summary>
[CustomResource(ApiInfo.FineTuneKind, ApiInfo.FineTunePlural, ApiInfo.FineTuneSingular, ApiInfo.FineTuneShortName, Categories = ["bit"])]
[Field("Fine-tunes a BiT network on a downstream task with the BiT-HyperRule.")]
[PrinterColumn(0, "Phase", "string", ".status.phase")]
[PrinterColumn(1, "Progress", "string", ".status.progress.display", Description = "step/totalSteps")]
[PrinterColumn(2, "Top1", "number", ".status.result.top1")]
[PrinterColumn(3, "Restarts", "integer", ".status.restarts")]
[PrinterColumn(4, "ETA", "string", ".status.progress.eta", Description = "Estimated time left, reported by the trainer", Priority = 1)]
[PrinterColumn(5, "Images/s", "number", ".status.progress.imagesPerSecond", Description = "Training throughput", Priority = 1)]
[PrinterColumn(6, "Pod", "string", ".status.podName", Description = "The current or last trainer pod", Priority = 1)]
[PrinterColumn(7, "Age", "date", ".metadata.creationTimestamp")]
[SpecCelRule(
    "!has(self.hyperparameters) || (!has(self.hyperparameters.epochs) && !has(self.hyperparameters.decayEpochs) && !has(self.hyperparameters.warmupEpochs) && !has(self.hyperparameters.weightDecay) && !has(self.hyperparameters.loss))",
    "epochs, decayEpochs, warmupEpochs, weightDecay and loss are for BiTPretrainJob only")]
public sealed record BiTFineTuneJob : BiTJob
{
    /// <summary>A job with kind and apiVersion set.</summary>
    public BiTFineTuneJob() => Kind = ApiInfo.FineTuneKind;
}
