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

    private static void WriteNoiseJpeg(string path, int width, int height, int seed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(width, height);
        var random = new Random(seed);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                // Smooth colour plus noise, so the file has real detail at every scale.
                bitmap.SetPixel(x, y, new SKColor((byte)((x * 255 / width) ^ random.Next(32)), (byte)(y * 255 / height), (byte)random.Next(256)));
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        File.WriteAllBytes(path, data.ToArray());
    }

    [Fact]
    public void Jpeg_decodes_through_libjpeg_turbo_to_what_skiasharp_decodes()
    {
        Assert.True(TurboJpeg.IsAvailable, "libturbojpeg.so.0 (Debian libturbojpeg0) is not installed: scripts/install-test-deps.sh installs it");
        using var dir = new TempDir();
        var path = dir.Combine("a.jpg");
        WriteNoiseJpeg(path, 61, 47, 1);
        var turbo = ImageFolderDataset.Decode(path);
        Assert.Equal((47, 61, 3), (turbo.Height, turbo.Width, turbo.Channels));
        using var bitmap = SKBitmap.Decode(path);
        var maxDifference = 0;
        for (var y = 0; y < 47; y++)
        {
            for (var x = 0; x < 61; x++)
            {
                var p = bitmap.GetPixel(x, y);
                var o = ((y * 61) + x) * 3;
                maxDifference = Math.Max(maxDifference, Math.Max(Math.Abs(p.Red - turbo.Pixels[o]), Math.Max(Math.Abs(p.Green - turbo.Pixels[o + 1]), Math.Abs(p.Blue - turbo.Pixels[o + 2]))));
            }
        }
        // Both are libjpeg-turbo (SkiaSharp bundles its own build); its integer IDCT may round differently by a level.
        Assert.InRange(maxDifference, 0, 2);
    }

    [Fact]
    public void Shrink_on_load_decodes_at_the_smallest_eighth_that_still_covers_the_transform()
    {
        using var dir = new TempDir();
        WriteNoiseJpeg(dir.Combine("train", "a", "0.jpg"), 500, 375, 2);
        WriteNoiseJpeg(dir.Combine("test", "a", "0.jpg"), 8, 8, 3);
        var train = ImageFolderDataset.Open(dir.Path, DataSplit.Train, 1, null);
        var full = train.Load(0);
        Assert.Equal((375, 500), (full.Height, full.Width));
        // 160 px: 1/2 (250x188) covers it, 1/4 (125x94) does not.
        var half = train.LoadForTransform(0, 160, 160);
        Assert.Equal((188, 250), (half.Height, half.Width));
        Assert.Equal((47, 63), (train.LoadForTransform(0, 40, 40).Height, train.LoadForTransform(0, 40, 40).Width));
        // Upscaling targets and "no hint" decode at full size.
        Assert.Equal((375, 500), (train.LoadForTransform(0, 512, 512).Height, train.LoadForTransform(0, 512, 512).Width));
        Assert.Equal((375, 500), (train.LoadForTransform(0, 0, 0).Height, train.LoadForTransform(0, 0, 0).Width));

        // The reduced decode is the same picture: its mean colour agrees with the full decode's.
        var quarter = train.LoadForTransform(0, 100, 90);
        static double Mean(RawImage i) => i.Pixels.AsSpan(0, i.Height * i.Width * i.Channels).ToArray().Average(b => (double)b);
        Assert.InRange(Mean(quarter) - Mean(full), -2.0, 2.0);
    }

    [Fact]
    public void Pooled_loads_on_one_thread_reuse_one_buffer_and_allocate_nothing_in_steady_state()
    {
        using var dir = new TempDir();
        for (var i = 0; i < 4; i++)
        {
            WriteNoiseJpeg(dir.Combine("train", "a", $"{i}.jpg"), 120, 90, i);
        }
        WriteNoiseJpeg(dir.Combine("test", "a", "0.jpg"), 8, 8, 9);
        var train = ImageFolderDataset.Open(dir.Path, DataSplit.Train, 1, null);
        var transform = new FineTuneTransform(64, 48);
        var output = new float[3 * 48 * 48];
        void Pass()
        {
            for (var i = 0; i < train.Count; i++)
            {
                var random = new DeterministicRandom(0, RandomPurpose.Augment, 0, i);
                transform.Apply(train.LoadForTransform(i, 64, 64), ref random, output);
            }
        }
        Pass();
        Assert.Same(train.LoadForTransform(0, 64, 64).Pixels, train.LoadForTransform(1, 64, 64).Pixels);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Pass();
        var perImage = (GC.GetAllocatedBytesForCurrentThread() - before) / train.Count;
        // A 120x90 image is 32 KB of pixels and 130 KB of floats in the old path; now only small objects remain
        // (the file handle and its SafeHandle).
        Assert.InRange(perImage, 0, 2048);
    }

    [Fact]
    public void A_truncated_jpeg_is_corrupt_not_half_an_image()
    {
        using var dir = new TempDir();
        MakeFolder(dir, 2);
        var path = dir.Combine("train", "dog", "000.jpg");
        WriteNoiseJpeg(path, 64, 64, 4);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var train = ImageFolderDataset.Open(dir.Path, DataSplit.Train, 2, new CorruptImageTracker(4, 1.0, _ => { }));
        var index = Enumerable.Range(0, train.Count).Single(i => train.Describe(i).EndsWith("000.jpg", StringComparison.Ordinal) && train.LabelOf(i) == 1);
        Assert.Throws<CorruptImageException>(() => train.Load(index));
        Assert.Throws<CorruptImageException>(() => train.LoadForTransform(index, 32, 32));
    }

    [Theory]
    [InlineData(12)]
    [InlineData(200)]
    [InlineData(-1)]
    public void A_file_damaged_in_its_header_does_not_spoil_the_next_decode_on_the_same_thread(int keep)
    {
        // libjpeg-turbo leaves a decompressor mid-header after some header errors; the per-thread handle must not
        // carry that into the next file (it did: every later JPEG on the thread fell back to the slow decoder).
        using var dir = new TempDir();
        var good = dir.Combine("good.jpg");
        WriteNoiseJpeg(good, 120, 90, 5);
        var bytes = File.ReadAllBytes(good);
        var bad = dir.Combine("bad.jpg");
        // keep = -1: a valid start followed by garbage where the frame header should be.
        File.WriteAllBytes(bad, keep > 0 ? bytes[..keep] : [.. bytes[..4], .. Enumerable.Repeat((byte)0xFF, 64), .. bytes[4..40]]);
        Exception? failure = null;
        // A fresh thread: its decompressor has met nothing but these two files.
        var thread = new Thread(() =>
        {
            try
            {
                var badBytes = File.ReadAllBytes(bad);
                Assert.False(TurboJpeg.TryReadHeader(badBytes, out _, out _, out _) && TurboJpeg.Decode(badBytes, 120, 90, false, new byte[120 * 90 * 3]) is null);
                Assert.True(TurboJpeg.TryReadHeader(bytes, out var w, out var h, out _), "the header of a good file after a bad one");
                Assert.Equal((120, 90), (w, h));
                var (_, sw, sh) = TurboJpeg.ShrinkFor(w, h, 50, 40);
                Assert.Null(TurboJpeg.Decode(bytes, sw, sh, false, new byte[sw * sh * 3]));
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }
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
