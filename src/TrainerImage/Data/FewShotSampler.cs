namespace BiT.Trainer.Data;

/// <summary>k examples per class, drawn with a fixed seed; the same (dataset, k, seed) always gives the same subset.</summary>
public static class FewShotSampler
{
    public static SubsetDataset Select(IImageDataset dataset, int examplesPerClass, long seed)
    {
        if (examplesPerClass <= 0)
        {
            throw new DataException($"fewShot.examplesPerClass must be positive, got {examplesPerClass}");
        }
        var byClass = new List<int>[dataset.NumClasses];
        for (var c = 0; c < byClass.Length; c++)
        {
            byClass[c] = [];
        }
        for (var i = 0; i < dataset.Count; i++)
        {
            byClass[dataset.LabelOf(i)].Add(i);
        }
        var chosen = new List<int>();
        for (var c = 0; c < byClass.Length; c++)
        {
            if (byClass[c].Count < examplesPerClass)
            {
                throw new DataException(
                    $"fewShot.examplesPerClass is {examplesPerClass} but class {c} has only {byClass[c].Count} training examples");
            }
            var perm = new DeterministicRandom(seed, RandomPurpose.FewShot, c).Permutation(byClass[c].Count);
            chosen.AddRange(perm.Take(examplesPerClass).Select(p => byClass[c][p]));
        }
        chosen.Sort();
        return new SubsetDataset(dataset, chosen);
    }
}
