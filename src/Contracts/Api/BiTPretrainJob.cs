using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>Pre-trains a BiT network upstream with the BiT upstream recipe; a fine-tune job consumes its output.</summary>
[CustomResource(ApiInfo.PretrainKind, ApiInfo.PretrainPlural, ApiInfo.PretrainSingular, ApiInfo.PretrainShortName, Categories = ["bit"])]
[Field("Pre-trains a BiT network upstream (SGD, 0.03 x batch/256, weight decay, 90 epochs with decays at 30/60/80).")]
[PrinterColumn(0, "Phase", "string", ".status.phase")]
[PrinterColumn(1, "Progress", "string", ".status.progress.display", Description = "step/totalSteps")]
[PrinterColumn(2, "Top1", "number", ".status.result.top1")]
[PrinterColumn(3, "Restarts", "integer", ".status.restarts")]
[PrinterColumn(4, "ETA", "string", ".status.progress.eta", Description = "Estimated time left, reported by the trainer", Priority = 1)]
[PrinterColumn(5, "Images/s", "number", ".status.progress.imagesPerSecond", Description = "Training throughput", Priority = 1)]
[PrinterColumn(6, "Pod", "string", ".status.podName", Description = "The current or last trainer pod", Priority = 1)]
[PrinterColumn(7, "Age", "date", ".metadata.creationTimestamp")]
[SpecCelRule(
    "!has(self.hyperparameters) || (!has(self.hyperparameters.precropSize) && !has(self.hyperparameters.mixupAlpha) && !has(self.hyperparameters.resolution) && !has(self.hyperparameters.scaleLearningRateWithBatch))",
    "precropSize, mixupAlpha, resolution and scaleLearningRateWithBatch are for BiTFineTuneJob only (upstream uses an inception crop and no MixUp)")]
public sealed record BiTPretrainJob : BiTJob
{
    /// <summary>A job with kind and apiVersion set.</summary>
    public BiTPretrainJob() => Kind = ApiInfo.PretrainKind;
}
