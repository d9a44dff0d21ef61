using BiT.Contracts.Api;
using BiT.Trainer.Data;
using SkiaSharp;

namespace BiT.Trainer.Tests.Data;

public sealed class ImageFolderDatasetTests
{
    private static void WriteImage(string path, SKColor color, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(6, 4);
        bitmap.Erase(color);
        using var data = bitmap.Encode(format, 95);
        File.WriteAllBytes(path, data.ToArray());
    }

    private static void MakeFolder(TempDir dir, int perClass)
    {
        foreach (var split in new[] { "train", "test" })
        {
            for (var i = 0; i < perClass; i++)
            {
                WriteImage(dir.Combine(split, "cat", $"{i:D3}.png"), new SKColor(200, 10, 10));
                WriteImage(dir.Combine(split, "dog", $"{i:D3}.jpg"), new SKColor(10, 10, 200), SKEncodedImageFormat.Jpeg);
            }
        }
    }

    [Fact]
    public void Png_and_jpeg_decode_to_rgb_with_classes_in_name_order()
    {
        using var dir = new TempDir();
        MakeFolder(dir, 2);
        var (train, test) = DatasetLoader.OpenSplits(DatasetFormat.ImageFolder, dir.Path, 2, _ => { });
        Assert.Equal(4, train.Count);
        Assert.Equal(4, test.Count);
        Assert.Equal(["cat", "dog"], ((ImageFolderDataset)train).ClassNames);
        var cat = train.Load(0);
        Assert.Equal((4, 6, 3), (cat.Height, cat.Width, cat.Channels));
        Assert.Equal(200, cat.Pixels[0]);
        Assert.Equal(0, train.LabelOf(0));
        var dog = train.Load(2);
        Assert.Equal(1, train.LabelOf(2));
        Assert.InRange(dog.Pixels[2], 180, 220);
    }

    [Fact]
    public void Corrupt_images_below_the_threshold_are_skipped_with_a_warning_and_counted()
    {
        using var dir = new TempDir();
        MakeFolder(dir, 60);
        File.WriteAllText(dir.Combine("train", "cat", "broken.png"), "not a png at all");
        var warnings = new List<string>();
        var tracker = new CorruptImageTracker(121, 0.01, warnings.Add);
        var train = ImageFolderDataset.Open(dir.Path, DataSplit.Train, 2, tracker);
        Assert.Equal(120, train.Count);
        Assert.Equal(1, tracker.Count);
        Assert.Contains(warnings, w => w.Contains("broken.png", StringComparison.Ordinal));
    }

    [Fact]
    public void Corrupt_images_above_the_threshold_fail_with_a_clear_error()
    {
        using var dir = new TempDir();
        MakeFolder(dir, 5);
        File.WriteAllText(dir.Combine("train", "cat", "broken.png"), "garbage");
        var e = Assert.Throws<DataException>(() => DatasetLoader.OpenSplits(DatasetFormat.ImageFolder, dir.Path, 2, _ => { }));
        Assert.Contains("above the 1% threshold", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_image_passes_the_header_check_and_fails_at_decode_time()
    {
        using var dir = new TempDir();
        MakeFolder(dir, 2);
        var path = dir.Combine("train", "cat", "000.png");
        using (var noise = new SKBitmap(64, 64))
        {
            var random = new Random(1);
            for (var y = 0; y < 64; y++)
            {
                for (var x = 0; x < 64; x++)
                {
                    noise.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
                }
            }
            using var encoded = noise.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(path, encoded.ToArray());
        }
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var train = ImageFolderDataset.Open(dir.Path, DataSplit.Train, 2, new CorruptImageTracker(4, 1.0, _ => { }));
        Assert.Throws<CorruptImageException>(() => train.Load(0));
    }

    [Fact]
    public void Empty_class_and_missing_split_and_wrong_class_count_are_clear_errors()
    {
        using var dir = new TempDir();
        MakeFolder(dir, 1);
        var count = Assert.Throws<DataException>(() => DatasetLoader.OpenSplits(DatasetFormat.ImageFolder, dir.Path, 3, _ => { }));
        Assert.Contains("2 class folders, but numClasses is 3", count.Message, StringComparison.Ordinal);
        Directory.CreateDirectory(dir.Combine("train", "zebra"));
        var empty = Assert.Throws<DataException>(() => DatasetLoader.OpenSplits(DatasetFormat.ImageFolder, dir.Path, 3, _ => { }));
        Assert.Contains("class 'zebra' has no images", empty.Message, StringComparison.Ordinal);
        Directory.Delete(dir.Combine("test"), true);
        Directory.Delete(dir.Combine("train", "zebra"));
        var missing = Assert.Throws<DataException>(() => DatasetLoader.OpenSplits(DatasetFormat.ImageFolder, dir.Path, 2, _ => { }));
        Assert.Contains("missing test split", missing.Message, StringComparison.Ordinal);
    }
}
