namespace BiT.Trainer.Data;

/// <summary>Opens the train and test splits of a dataset in any supported format and checks them.</summary>
public static class DatasetLoader
{
    public static IImageDataset Open(DataFormat format, string path, DataSplit split, int numClasses, CorruptImageTracker? tracker = null, IReadOnlyList<string>? classNames = null)
    {
        if (numClasses < 1)
        {
            throw new DataException($"numClasses must be at least 1, got {numClasses}");
        }
        return format switch
        {
            DataFormat.Idx => IdxDataset.Open(path, split, numClasses),
            DataFormat.CifarBinary => CifarBinaryDataset.Open(path, split, numClasses),
            DataFormat.ImageFolder => ImageFolderDataset.Open(path, split, numClasses, tracker, classNames),
            _ => throw new DataException($"dataset format {format} is not supported"),
        };
    }

    /// <summary>Both splits; the train split must have an example of every class.</summary>
    public static (IImageDataset Train, IImageDataset Test) OpenSplits(DataFormat format, string path, int numClasses, Action<string> warn, double corruptThreshold = CorruptImageTracker.DefaultThreshold)
    {
        var train = Open(format, path, DataSplit.Train, numClasses, Tracker(format, path, DataSplit.Train, corruptThreshold, warn));
        var classNames = (train as ImageFolderDataset)?.ClassNames;
        var test = Open(format, path, DataSplit.Test, numClasses, Tracker(format, path, DataSplit.Test, corruptThreshold, warn), classNames);
        RequireEveryClass(train, path);
        if (test.Count == 0)
        {
            throw new DataException($"dataset path {path}: the test split is empty");
        }
        return (train, test);
    }

    public static void RequireEveryClass(IImageDataset dataset, string where)
    {
        var counts = new int[dataset.NumClasses];
        for (var i = 0; i < dataset.Count; i++)
        {
            counts[dataset.LabelOf(i)]++;
        }
        var empty = Array.IndexOf(counts, 0);
        if (empty >= 0)
        {
            throw new DataException($"dataset path {where}: class {empty} has no training examples (numClasses {dataset.NumClasses})");
        }
    }

    private static CorruptImageTracker? Tracker(DataFormat format, string path, DataSplit split, double threshold, Action<string> warn)
    {
        if (format != DataFormat.ImageFolder)
        {
            return null;
        }
        var dir = Path.Combine(path, split.DirectoryName());
        var total = Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Count() : 0;
        return new CorruptImageTracker(Math.Max(total, 1), threshold, warn);
    }
}
