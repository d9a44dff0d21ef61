namespace BiT.Trainer.Training;

public enum AugmentationKind
{
    /// <summary>Resize to precrop, random crop, flip (the HyperRule).</summary>
    FineTune,

    /// <summary>Inception-style random crop and flip (upstream).</summary>
    Inception,
}
