using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>Pre-trains a BiT network upstream with the BiT upstream recipe; a fine-tune job consumes its output.</summary>
[CustomResource(ApiInfo.PretrainKind, ApiInfo.PretrainPlural, ApiInfo.PretrainSingular, ApiInfo.PretrainShortName, Categories = ["bit"])]
[Field("Pre-trains a BiT network upstream (SGD, 0.03 x batch/256, weight decay, 90 epochs with decays at 30/60/80).")]
[SpecCelRule(
    "!has(self.hyperparameters) || (!has(self.hyperparameters.precropSize) && !has(self.hyperparameters.mixupAlpha) && !has(self.hyperparameters.resolution) && !has(self.hyperparameters.scaleLearningRateWithBatch))",
    "precropSize, mixupAlpha, resolution and scaleLearningRateWithBatch are for BiTFineTuneJob only (upstream uses an inception crop and no MixUp)")]
public sealed record BiTPretrainJob : BiTJob
{
    /// <summary>A job with kind and apiVersion set.</summary>
    public BiTPretrainJob() => Kind = ApiInfo.PretrainKind;
}
