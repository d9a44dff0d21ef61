using BiT.Trainer.Data;

namespace BiT.Trainer.Tests.Data;

public sealed class CifarBinaryDatasetTests
{
    private static byte[] Record(byte[] labels, byte r, byte g, byte b) =>
        [.. labels, .. Enumerable.Repeat(r, 1024), .. Enumerable.Repeat(g, 1024), .. Enumerable.Repeat(b, 1024)];

    [Fact]
    public void Cifar10_batches_are_concatenated_and_planes_become_rgb_pixels()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("data_batch_1.bin"), [.. Record([3], 10, 20, 30), .. Record([9], 1, 2, 3)]);
        File.WriteAllBytes(dir.Combine("data_batch_2.bin"), Record([0], 5, 6, 7));
        File.WriteAllBytes(dir.Combine("test_batch.bin"), Record([1], 0, 0, 0));

        var train = CifarBinaryDataset.Open(dir.Path, DataSplit.Train, 10);
        Assert.Equal(3, train.Count);
        Assert.Equal([3, 9, 0], Enumerable.Range(0, 3).Select(train.LabelOf));
        var image = train.Load(0);
        Assert.Equal((32, 32, 3), (image.Height, image.Width, image.Channels));
        Assert.Equal([10, 20, 30, 10], image.Pixels[..4]);
        Assert.Equal("data_batch_2.bin[0]", train.Describe(2));
        Assert.Equal(1, CifarBinaryDataset.Open(dir.Path, DataSplit.Test, 10).Count);
    }

    [Fact]
    public void Cifar100_uses_the_fine_label()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("train.bin"), Record([4, 77], 0, 0, 0));
        var train = CifarBinaryDataset.Open(dir.Path, DataSplit.Train, 100);
        Assert.Equal(77, train.LabelOf(0));
    }

    [Fact]
    public void Truncated_file_is_a_clear_error()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("data_batch_1.bin"), Record([3], 1, 1, 1)[..3000]);
        var e = Assert.Throws<DataException>(() => CifarBinaryDataset.Open(dir.Path, DataSplit.Train, 10));
        Assert.Contains("data_batch_1.bin", e.Message, StringComparison.Ordinal);
        Assert.Contains("3073-byte", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Label_out_of_range_and_missing_split_are_clear_errors()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.Combine("data_batch_1.bin"), Record([12], 0, 0, 0));
        Assert.Contains("label 12", Assert.Throws<DataException>(() => CifarBinaryDataset.Open(dir.Path, DataSplit.Train, 10)).Message, StringComparison.Ordinal);
        Assert.Contains("missing test split", Assert.Throws<DataException>(() => CifarBinaryDataset.Open(dir.Path, DataSplit.Test, 10)).Message, StringComparison.Ordinal);
    }
}
