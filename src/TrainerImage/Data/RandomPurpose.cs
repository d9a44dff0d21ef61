namespace BiT.Trainer.Data;

/// <summary>What a random stream is for; part of its key so that streams never overlap.</summary>
public enum RandomPurpose
{
    EpochOrder = 1,
    Augment = 2,
    Mixup = 3,
    MixupPermutation = 4,
    FewShot = 5,
    Init = 6,
}
