namespace BiT.Trainer.Data;

/// <summary>
/// One split of the CIFAR-10/100 binary format: records of label byte(s) + 3072 bytes (32x32, red then green then
/// blue planes). CIFAR-10 (1 label byte): <c>data_batch_*.bin</c> / <c>test_batch.bin</c>; CIFAR-100 (coarse + fine
/// label bytes, the fine label is used): <c>train.bin</c> / <c>test.bin</c>. A <c>train/</c> or <c>test/</c>
/// folder of <c>*.bin</c> files is accepted too, with the label width chosen by <c>numClasses</c> (&gt; 10 = CIFAR-100).
/// </summary>
public sealed class CifarBinaryDataset : IImageDataset
{
    private const int Side = 32;
    private const int PixelBytes = Side * Side * 3;

    private readonly List<(string File, int Offset)> sources;
    private readonly byte[] pixels;
    private readonly byte[] labels;

    private CifarBinaryDataset(byte[] pixels, byte[] labels, int numClasses, List<(string File, int Offset)> sources)
    {
        this.pixels = pixels;
        this.labels = labels;
        this.sources = sources;
        NumClasses = numClasses;
    }

    public int Count => labels.Length;

    public int NumClasses { get; }

    public int LabelOf(int index) => labels[index];

    public RawImage Load(int index)
    {
        // Planar CHW on disk; the pipeline works in HWC.
        var hwc = new byte[PixelBytes];
        var src = pixels.AsSpan(index * PixelBytes, PixelBytes);
        for (var p = 0; p < Side * Side; p++)
        {
            hwc[3 * p] = src[p];
            hwc[(3 * p) + 1] = src[(Side * Side) + p];
            hwc[(3 * p) + 2] = src[(2 * Side * Side) + p];
        }
        return new RawImage(Side, Side, 3, hwc);
    }

    public string Describe(int index)
    {
        var (file, offset) = sources.Last(s => s.Offset <= index);
        return $"{Path.GetFileName(file)}[{index - offset}]";
    }

    public static CifarBinaryDataset Open(string directory, DataSplit split, int numClasses)
    {
        if (!Directory.Exists(directory))
        {
            throw new DataException($"dataset path {directory} does not exist");
        }
        var (files, labelBytes) = FindFiles(directory, split, numClasses);
        var recordSize = labelBytes + PixelBytes;
        var allPixels = new MemoryStream();
        var allLabels = new List<byte>();
        var sources = new List<(string, int)>();
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            if (bytes.Length == 0 || bytes.Length % recordSize != 0)
            {
                throw new DataException(
                    $"{file}: size {bytes.Length} is not a multiple of the {recordSize}-byte CIFAR-{(labelBytes == 1 ? "10" : "100")} record");
            }
            sources.Add((file, allLabels.Count));
            for (var r = 0; r < bytes.Length / recordSize; r++)
            {
                var label = bytes[(r * recordSize) + labelBytes - 1];
                if (label >= numClasses)
                {
                    throw new DataException($"{file}: label {label} of record {r} is out of range for numClasses {numClasses}");
                }
                allLabels.Add(label);
                allPixels.Write(bytes, (r * recordSize) + labelBytes, PixelBytes);
            }
        }
        return new CifarBinaryDataset(allPixels.ToArray(), [.. allLabels], numClasses, sources);
    }

    private static (string[] Files, int LabelBytes) FindFiles(string directory, DataSplit split, int numClasses)
    {
        var splitDir = Path.Combine(directory, split.DirectoryName());
        if (Directory.Exists(splitDir))
        {
            var inDir = Directory.GetFiles(splitDir, "*.bin").Order(StringComparer.Ordinal).ToArray();
            if (inDir.Length > 0)
            {
                return (inDir, numClasses > 10 ? 2 : 1);
            }
        }
        string[] cifar10 = split == DataSplit.Train
            ? [.. Directory.GetFiles(directory, "data_batch_*.bin").Order(StringComparer.Ordinal)]
            : [.. Directory.GetFiles(directory, "test_batch.bin")];
        if (cifar10.Length > 0)
        {
            return (cifar10, 1);
        }
        var cifar100 = Path.Combine(directory, split == DataSplit.Train ? "train.bin" : "test.bin");
        if (File.Exists(cifar100))
        {
            return ([cifar100], 2);
        }
        throw new DataException(
            $"dataset path {directory}: missing {split.DirectoryName()} split (expected {split.DirectoryName()}/*.bin, "
            + $"{(split == DataSplit.Train ? "data_batch_*.bin (CIFAR-10) or train.bin" : "test_batch.bin (CIFAR-10) or test.bin")} (CIFAR-100))");
    }
}
