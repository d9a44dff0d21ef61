namespace BiT.Trainer.Data;

/// <summary>A view of some examples of another dataset (few-shot subsets, class filters).</summary>
public sealed class SubsetDataset(IImageDataset inner, IReadOnlyList<int> indices, int[]? labelMap = null, int? numClasses = null) : IImageDataset
{
    public int Count => indices.Count;

    public int NumClasses { get; } = numClasses ?? inner.NumClasses;

    public IReadOnlyList<int> Indices => indices;

    public IImageDataset Inner => inner;

    public int LabelOf(int index)
    {
        var label = inner.LabelOf(indices[index]);
        return labelMap is null ? label : labelMap[label];
    }

    public RawImage Load(int index) => inner.Load(indices[index]);

    public RawImage LoadForTransform(int index, int minWidth, int minHeight) => inner.LoadForTransform(indices[index], minWidth, minHeight);

    public string Describe(int index) => inner.Describe(indices[index]);

    /// <summary>Keeps only the given classes, relabelled 0..k-1 in the order given (used by the transfer experiment).</summary>
    public static SubsetDataset OfClasses(IImageDataset inner, IReadOnlyList<int> classes)
    {
        var map = Enumerable.Repeat(-1, inner.NumClasses).ToArray();
        for (var i = 0; i < classes.Count; i++)
        {
            map[classes[i]] = i;
        }
        var keep = Enumerable.Range(0, inner.Count).Where(i => map[inner.LabelOf(i)] >= 0).ToArray();
        return new SubsetDataset(inner, keep, map, classes.Count);
    }
}
