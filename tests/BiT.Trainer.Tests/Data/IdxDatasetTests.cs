using System.IO.Compression;
using BiT.Trainer.Data;

namespace BiT.Trainer.Tests.Data;

public sealed class IdxDatasetTests
{
    private static byte[] Idx(byte type, int[] dims, byte[] payload)
    {
        var header = new List<byte> { 0, 0, type, (byte)dims.Length };
        foreach (var d in dims)
        {
            header.AddRange(BitConverter.GetBytes(d).Reverse());
        }
        return [.. header, .. payload];
    }

    private static void WriteGzip(string path, byte[] bytes)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        gzip.Write(bytes);
    }

    [Fact]
    public void Embedded_subset_is_class_balanced_1000_train_500_test()
    {
        var train = IdxDataset.Open(TestPaths.FashionSubset, DataSplit.Train, 10);
        var test = IdxDataset.Open(TestPaths.FashionSubset, DataSplit.Test, 10);
        Assert.Equal(1000, train.Count);
        Assert.Equal(500, test.Count);
        var perClass = Enumerable.Range(0, train.Count).GroupBy(train.LabelOf).Select(g => g.Count()).ToArray();
        Assert.Equal(Enumerable.Repeat(100, 10), perClass);
        var image = train.Load(0);
        Assert.Equal((28, 28, 1), (image.Height, image.Width, image.Channels));
        Assert.Contains(image.Pixels, p => p > 0);
    }

    [Fact]
    public void Raw_and_gzip_files_read_the_same()
    {
        using var dir = new TempDir();
        var pixels = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)i).ToArray();
        var images = Idx(0x08, [2, 3, 4], pixels);
        var labels = Idx(0x08, [2], [1, 0]);
        Directory.CreateDirectory(dir.Combine("raw", "train"));
        File.WriteAllBytes(dir.Combine("raw", "train", "images-idx3-ubyte"), images);
        File.WriteAllBytes(dir.Combine("raw", "train", "labels-idx1-ubyte"), labels);
        Directory.CreateDirectory(dir.Combine("gz"));
        WriteGzip(dir.Combine("gz", "train-images-idx3-ubyte.gz"), images);
        WriteGzip(dir.Combine("gz", "train-labels-idx1-ubyte.gz"), labels);

        var raw = IdxDataset.Open(dir.Combine("raw"), DataSplit.Train, 2);
        var gz = IdxDataset.Open(dir.Combine("gz"), DataSplit.Train, 2);
        Assert.Equal(raw.Load(1).Pixels, gz.Load(1).Pixels);
        Assert.Equal(pixels[12..], gz.Load(1).Pixels);
        Assert.Equal(1, gz.LabelOf(0));
    }

    [Fact]
    public void Bad_magic_is_a_clear_error()
    {
        var e = Assert.Throws<DataException>(() => IdxFile.Parse([1, 2, 3, 4, 5], "x.idx"));
        Assert.Contains("x.idx", e.Message, StringComparison.Ordinal);
        Assert.Contains("magic", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_element_type_is_named()
    {
        var e = Assert.Throws<DataException>(() => IdxFile.Parse(Idx(0x0D, [1], [0, 0, 0, 0]), "floats.idx"));
        Assert.Contains("0x0d", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Size_mismatch_is_a_clear_error()
    {
        var e = Assert.Throws<DataException>(() => IdxFile.Parse(Idx(0x08, [2, 2, 2], [1, 2, 3]), "short.idx"));
        Assert.Contains("size mismatch", e.Message, StringComparison.Ordinal);
        Assert.Contains("8 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Label_out_of_range_names_the_label_and_file()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("train-images-idx3-ubyte"), Idx(0x08, [1, 2, 2], [0, 0, 0, 0]));
        File.WriteAllBytes(dir.Combine("train-labels-idx1-ubyte"), Idx(0x08, [1], [7]));
        var e = Assert.Throws<DataException>(() => IdxDataset.Open(dir.Path, DataSplit.Train, 5));
        Assert.Contains("label 7", e.Message, StringComparison.Ordinal);
        Assert.Contains("numClasses 5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_split_is_a_clear_error()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("train-images-idx3-ubyte"), Idx(0x08, [1, 2, 2], [0, 0, 0, 0]));
        File.WriteAllBytes(dir.Combine("train-labels-idx1-ubyte"), Idx(0x08, [1], [0]));
        var e = Assert.Throws<DataException>(() => IdxDataset.Open(dir.Path, DataSplit.Test, 1));
        Assert.Contains("missing test split", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_class_in_train_split_is_a_clear_error()
    {
        var train = IdxDataset.Open(TestPaths.FashionSubset, DataSplit.Train, 11);
        var e = Assert.Throws<DataException>(() => DatasetLoader.RequireEveryClass(train, "fm"));
        Assert.Contains("class 10 has no training examples", e.Message, StringComparison.Ordinal);
    }
}
