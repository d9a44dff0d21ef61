using BiT.Contracts.Api;

namespace BiT.Trainer.Data;

/// <summary>Opens the train and test splits of a dataset in any supported format and checks them.</summary>
public static class DatasetLoader
{
    public static IImageDataset Open(DatasetFormat format, string path, DataSplit split, int numClasses, CorruptImageTracker? tracker = null, IReadOnlyList<string>? classNames = null)
    {
        if (numClasses < 1)
        {
            throw new DataException($"numClasses must be at least 1, got {numClasses}");
        }
        return OpenRaw(format, path, split, numClasses, tracker, classNames);
    }

    /// <summary>
    /// Opens a split and keeps only <paramref name="classes"/> (relabelled 0..k-1 in that order), or all classes
    /// when it is null; labels outside the subset are allowed and dropped.
    /// </summary>
    public static IImageDataset OpenClasses(DatasetFormat format, string path, DataSplit split, int numClasses, IReadOnlyList<int>? classes, CorruptImageTracker? tracker = null, IReadOnlyList<string>? classNames = null)
    {
        if (classes is null)
        {
            return Open(format, path, split, numClasses, tracker, classNames);
        }
        if (classes.Count != numClasses)
        {
            throw new DataException($"dataset.classes lists {classes.Count} labels but numClasses is {numClasses}");
        }
        // Labels of IDX and CIFAR files are single bytes; image folders are taken as they are.
        var raw = OpenRaw(format, path, split, format == DatasetFormat.ImageFolder ? 0 : 256, tracker, classNames);
        var outside = classes.FirstOrDefault(c => c < 0 || c >= raw.NumClasses, -1);
        if (outside >= 0 || classes.Distinct().Count() != classes.Count)
        {
            throw new DataException($"dataset.classes [{string.Join(", ", classes)}] must be distinct labels of the data (0..{raw.NumClasses - 1})");
        }
        return SubsetDataset.OfClasses(raw, classes);
    }

    private static IImageDataset OpenRaw(DatasetFormat format, string path, DataSplit split, int numClasses, CorruptImageTracker? tracker, IReadOnlyList<string>? classNames)
    {
        return format switch
        {
            DatasetFormat.Idx => IdxDataset.Open(path, split, numClasses),
            DatasetFormat.CifarBinary => CifarBinaryDataset.Open(path, split, numClasses),
            DatasetFormat.ImageFolder => ImageFolderDataset.Open(path, split, numClasses, tracker, classNames),
            _ => throw new DataException($"dataset format {format} is not supported"),
        };
    }

    /// <summary>Both splits; the train split must have an example of every class.</summary>
    public static (IImageDataset Train, IImageDataset Test) OpenSplits(DatasetFormat format, string path, int numClasses, Action<string> warn, double corruptThreshold = CorruptImageTracker.DefaultThreshold, IReadOnlyList<int>? classes = null)
    {
        var train = OpenClasses(format, path, DataSplit.Train, numClasses, classes, Tracker(format, path, DataSplit.Train, corruptThreshold, warn));
        var classNames = ((train as SubsetDataset)?.Inner ?? train) is ImageFolderDataset folder ? folder.ClassNames : null;
        var test = OpenClasses(format, path, DataSplit.Test, numClasses, classes, Tracker(format, path, DataSplit.Test, corruptThreshold, warn), classNames);
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

    private static CorruptImageTracker? Tracker(DatasetFormat format, string path, DataSplit split, double threshold, Action<string> warn)
    {
        if (format != DatasetFormat.ImageFolder)
        {
            return null;
        }
        var dir = Path.Combine(path, split.DirectoryName());
        var total = Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Count() : 0;
        return new CorruptImageTracker(Math.Max(total, 1), threshold, warn);
    }
}
