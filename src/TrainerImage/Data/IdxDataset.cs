namespace BiT.Trainer.Data;

/// <summary>
/// One split of an IDX dataset. A split is found as <c>{dir}/{split}/*images-idx3-ubyte[.gz]</c> or, in the original
/// MNIST layout, <c>{dir}/{prefix}-images-idx3-ubyte[.gz]</c> with prefix <c>train</c> or <c>t10k</c>/<c>test</c>.
/// </summary>
public sealed class IdxDataset : IImageDataset
{
    private readonly byte[] images;
    private readonly byte[] labels;
    private readonly int height;
    private readonly int width;
    private readonly string imagesPath;

    private IdxDataset(byte[] images, byte[] labels, int height, int width, int numClasses, string imagesPath)
    {
        this.images = images;
        this.labels = labels;
        this.height = height;
        this.width = width;
        this.imagesPath = imagesPath;
        NumClasses = numClasses;
    }

    public int Count => labels.Length;

    public int NumClasses { get; }

    public int LabelOf(int index) => labels[index];

    public RawImage Load(int index)
    {
        var size = height * width;
        return new RawImage(height, width, 1, images.AsSpan(index * size, size).ToArray());
    }

    public string Describe(int index) => $"{Path.GetFileName(imagesPath)}[{index}]";

    public static IdxDataset Open(string directory, DataSplit split, int numClasses)
    {
        var (imagesFile, labelsFile) = FindFiles(directory, split);
        var images = IdxFile.Read(imagesFile);
        var labels = IdxFile.Read(labelsFile);
        if (images.Dimensions.Length != 3)
        {
            throw new DataException($"{imagesFile}: expected a 3-dimensional IDX array (count, rows, columns), got [{string.Join(", ", images.Dimensions)}]");
        }
        if (labels.Dimensions.Length != 1)
        {
            throw new DataException($"{labelsFile}: expected a 1-dimensional IDX array of labels, got [{string.Join(", ", labels.Dimensions)}]");
        }
        if (images.Dimensions[0] != labels.Dimensions[0])
        {
            throw new DataException($"{imagesFile} holds {images.Dimensions[0]} images but {labelsFile} holds {labels.Dimensions[0]} labels");
        }
        for (var i = 0; i < labels.Data.Length; i++)
        {
            if (labels.Data[i] >= numClasses)
            {
                throw new DataException($"{labelsFile}: label {labels.Data[i]} of example {i} is out of range for numClasses {numClasses}");
            }
        }
        return new IdxDataset(images.Data, labels.Data, images.Dimensions[1], images.Dimensions[2], numClasses, imagesFile);
    }

    private static (string Images, string Labels) FindFiles(string directory, DataSplit split)
    {
        if (!Directory.Exists(directory))
        {
            throw new DataException($"dataset path {directory} does not exist");
        }
        var splitDir = Path.Combine(directory, split.DirectoryName());
        if (Directory.Exists(splitDir))
        {
            var img = Single(splitDir, "*images-idx3-ubyte*");
            var lab = Single(splitDir, "*labels-idx1-ubyte*");
            if (img is not null && lab is not null)
            {
                return (img, lab);
            }
        }
        foreach (var prefix in split == DataSplit.Train ? ["train"] : new[] { "t10k", "test" })
        {
            var img = Single(directory, $"{prefix}-images-idx3-ubyte*");
            var lab = Single(directory, $"{prefix}-labels-idx1-ubyte*");
            if (img is not null && lab is not null)
            {
                return (img, lab);
            }
        }
        throw new DataException(
            $"dataset path {directory}: missing {split.DirectoryName()} split (expected {split.DirectoryName()}/*images-idx3-ubyte[.gz] + *labels-idx1-ubyte[.gz], "
            + $"or {(split == DataSplit.Train ? "train" : "t10k")}-images-idx3-ubyte[.gz] + labels)");
    }

    private static string? Single(string dir, string pattern)
    {
        var files = Directory.GetFiles(dir, pattern).Where(f => f.EndsWith("ubyte", StringComparison.Ordinal) || f.EndsWith(".gz", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        return files.Length switch
        {
            0 => null,
            1 => files[0],
            _ => throw new DataException($"{dir}: several files match {pattern}: {string.Join(", ", files.Select(Path.GetFileName))}"),
        };
    }
}
