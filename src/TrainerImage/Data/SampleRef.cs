namespace BiT.Trainer.Data;

/// <summary>Which example goes into a batch slot, and the epoch that keys its random augmentation.</summary>
public readonly record struct SampleRef(int Index, long Epoch);
