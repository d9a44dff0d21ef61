using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Contracts.Rules;
using BiT.Trainer.Commands;
using BiT.Trainer.Data;
using BiT.Trainer.Telemetry;
using BiT.Trainer.Training;
using static BiT.Trainer.Tests.Hostile.HostileInputs;

namespace BiT.Trainer.Tests.Hostile;

/// <summary>
/// The reproductions issue 12 names for the trainer, each as it was reported: a batch too large for memory, an
/// absurd learning rate in a plan file, a work directory that is a file, a first image that does not decode while
/// the data is measured.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class NamedReproductionTests
{
    private static string Manifest(string name = "tiny") => $$"""
        apiVersion: bit.training/v1alpha1
        kind: BiTFineTuneJob
        metadata:
          name: {{name}}
        spec:
          model:
            architecture: Custom
            blocks: [1, 1, 1, 1]
            widthFactor: 0.5
          dataset:
            format: Idx
            path: {{TestPaths.FashionSubset}}
            numClasses: 10
            fewShot: {examplesPerClass: 2, seed: 1}
          hyperparameters:
            batchSize: 8
            totalSteps: 4
            precropSize: 36
            cropSize: 32
          checkpoint:
            everySteps: 2
          seed: 3
        """;

    private static TrainingSettings Settings(int batchSize, int batchSplit, int cropSize) => new()
    {
        Schedule = new LearningRateSchedule(0.003, 0, [], 10),
        BatchSize = batchSize,
        BatchSplit = batchSplit,
        CropSize = cropSize,
        PrecropSize = cropSize,
        NumClasses = 10,
        PlanHash = "x",
        Prefetch = 4,
    };

    [Fact]
    public void A_batch_too_large_for_memory_is_refused_naming_batchSize_and_batchSplit_before_anything_is_allocated()
    {
        // 65,536 images of 224 x 224: 36.8 GiB of input alone, 221 GiB with the prefetched batches.
        var settings = Settings(65_536, 1, 224);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<TrainingFailedException>(() => settings.CheckMemory(16L << 30));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("a micro-batch of 65536 images of 224x224", e.Message, StringComparison.Ordinal);
        Assert.Contains("lower batchSize or raise batchSplit", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated to refuse it");

        // A split that brings the micro-batch within memory passes; the same batch with less memory does not.
        settings.With(batchSplit: 256).CheckMemory(16L << 30);
        Assert.Throws<TrainingFailedException>(() => Settings(256, 1, 224).CheckMemory(100L << 20));
        // Past int.MaxValue bytes of input a micro-batch can never be held, whatever the memory.
        Assert.Throws<TrainingFailedException>(() => Settings(65_536, 1, 384).CheckMemory(long.MaxValue));
    }

    [Fact]
    public async Task A_batch_too_large_for_memory_in_a_run_exits_4_with_the_sentence()
    {
        using var dir = new TempDir();
        // batchSize and cropSize at the schema's limits: 65,536 x 3 x 8192^2 floats, far past int.MaxValue bytes.
        File.WriteAllText(dir.Combine("job.yaml"), Manifest()
            .Replace("batchSize: 8", "batchSize: 65536", StringComparison.Ordinal)
            .Replace("precropSize: 36", "precropSize: 8192", StringComparison.Ordinal)
            .Replace("    cropSize: 32", "    cropSize: 8192", StringComparison.Ordinal));
        var error = new StringWriter();
        var code = await new JobRunner(new StringWriter(), error, TimeProvider.System) { DataThreads = 2 }
            .RunManifestAsync(dir.Combine("job.yaml"), dir.Combine("work"), null, null, interactive: false, CancellationToken.None);
        Assert.Equal(TrainerExitCodes.PermanentFailure, code);
        var last = error.ToString().TrimEnd().Split('\n')[^1];
        Assert.StartsWith("bit-trainer: error:", last, StringComparison.Ordinal);
        Assert.Contains("lower batchSize or raise batchSplit", last, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("baseLearningRate", 1e300, "hyperparameters.baseLearningRate: must be <= 100, got 1E+300")]
    [InlineData("baseLearningRate", 0.0, "hyperparameters.baseLearningRate: must be > 0, got 0")]
    [InlineData("momentum", 5.0, "hyperparameters.momentum: must be <= 1, got 5")]
    [InlineData("mixupAlpha", -1.0, "hyperparameters.mixupAlpha: must be >= 0, got -1")]
    [InlineData("cropSize", 100000.0, "hyperparameters.cropSize: must be <= 8192, got 100000")]
    public async Task A_plan_with_a_value_out_of_range_exits_4_with_a_line_naming_the_field(string field, double value, string expected)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), Manifest());
        var manifest = ManifestParser.ParseFile(dir.Combine("job.yaml"));
        var facts = PlanAdapter.Measure(DatasetFormat.Idx, TestPaths.FashionSubset, 10, null, _ => { });
        var plan = PlanResolver.Resolve(manifest, facts, new PlanResolverOptions { ManifestDirectory = dir.Path });
        var h = plan.Hyperparameters;
        plan = plan with
        {
            Hyperparameters = field switch
            {
                "baseLearningRate" => h with { BaseLearningRate = value },
                "momentum" => h with { Momentum = value },
                "mixupAlpha" => h with { MixupAlpha = value },
                "cropSize" => h with { CropSize = (int)value },
                _ => throw new ArgumentOutOfRangeException(nameof(field)),
            },
        };
        File.WriteAllText(dir.Combine("plan.json"), plan.ToJson());

        var output = new StringWriter();
        var error = new StringWriter();
        var code = await new JobRunner(output, error, TimeProvider.System) { DataThreads = 2 }.RunPlanAsync(
            dir.Combine("plan.json"), dir.Combine("pod"), null, PodEnvironment.From(n => n == "BIT_TERMINATION_LOG" ? dir.Combine("termination-log") : null), CancellationToken.None);

        Assert.True(code == TrainerExitCodes.PermanentFailure, $"exit {code}: {output}{error}");
        var lines = error.ToString().TrimEnd().Split('\n');
        Assert.StartsWith("bit-trainer: error:", lines[^1], StringComparison.Ordinal);
        Assert.Contains(expected, lines[^1], StringComparison.Ordinal);
        Assert.Equal(lines[^1], File.ReadAllText(dir.Combine("termination-log")).TrimEnd());
        Assert.False(Directory.Exists(dir.Combine("pod")) && Directory.EnumerateFileSystemEntries(dir.Combine("pod")).Any(), "refused after writing into the work directory");
    }

    [Fact]
    public async Task A_workdir_that_is_a_file_exits_4_with_a_line_saying_so()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), Manifest());
        File.WriteAllText(dir.Combine("work"), "I am a file");
        var error = new StringWriter();
        var code = await new JobRunner(new StringWriter(), error, TimeProvider.System) { DataThreads = 2 }
            .RunManifestAsync(dir.Combine("job.yaml"), dir.Combine("work"), null, null, interactive: false, CancellationToken.None);
        Assert.Equal(TrainerExitCodes.PermanentFailure, code);
        var text = error.ToString();
        var last = text.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("bit-trainer: error:", last, StringComparison.Ordinal);
        Assert.Contains(dir.Combine("work"), last, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.Equal("I am a file", File.ReadAllText(dir.Combine("work")));
    }

    [Fact]
    public async Task A_plan_run_whose_workdir_is_a_file_exits_4()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), Manifest());
        var manifest = ManifestParser.ParseFile(dir.Combine("job.yaml"));
        var facts = PlanAdapter.Measure(DatasetFormat.Idx, TestPaths.FashionSubset, 10, null, _ => { });
        File.WriteAllText(dir.Combine("plan.json"), PlanResolver.Resolve(manifest, facts, new PlanResolverOptions { ManifestDirectory = dir.Path }).ToJson());
        File.WriteAllText(dir.Combine("pod"), "I am a file");
        var error = new StringWriter();
        var code = await new JobRunner(new StringWriter(), error, TimeProvider.System) { DataThreads = 2 }.RunPlanAsync(
            dir.Combine("plan.json"), dir.Combine("pod"), null, PodEnvironment.From(_ => null), CancellationToken.None);
        Assert.Equal(TrainerExitCodes.PermanentFailure, code);
        var last = error.ToString().TrimEnd().Split('\n')[^1];
        Assert.StartsWith("bit-trainer: error:", last, StringComparison.Ordinal);
        Assert.Contains(dir.Combine("pod"), last, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>A 128 x 128 JPEG of noise cut in half: the header (and the split's header check) is whole.</summary>
    private static byte[] TruncatedJpeg()
    {
        using var bitmap = new SkiaSharp.SKBitmap(128, 128);
        var random = new Random(5);
        for (var y = 0; y < 128; y++)
        {
            for (var x = 0; x < 128; x++)
            {
                bitmap.SetPixel(x, y, new SkiaSharp.SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
            }
        }

        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
        var bytes = data.ToArray();
        return bytes[..(bytes.Length / 2)];
    }

    [Fact]
    public void A_truncated_first_image_is_skipped_while_the_data_is_measured()
    {
        using var dir = new TempDir();
        foreach (var split in new[] { "train", "test" })
        {
            Directory.CreateDirectory(dir.Combine(split, "a"));
            File.WriteAllBytes(dir.Combine(split, "a", "1.png"), Png(6, 4));
            File.WriteAllBytes(dir.Combine(split, "a", "2.png"), Png(6, 4));
        }

        // Sorted first: a JPEG cut in half (its header is whole, so the split keeps it; only decoding fails).
        File.WriteAllBytes(dir.Combine("train", "a", "0.jpg"), TruncatedJpeg());
        var warnings = new List<string>();

        var facts = PlanAdapter.Measure(DatasetFormat.ImageFolder, dir.Path, 1, null, warnings.Add);

        Assert.Equal((4, 6), (facts.ImageHeight, facts.ImageWidth));
        Assert.Contains(warnings, w => w.Contains("example 0", StringComparison.Ordinal) && w.Contains("measuring the next one", StringComparison.Ordinal));
        Assert.Equal(3, facts.TrainExamples);
    }

    [Fact]
    public void Data_whose_first_images_all_fail_to_decode_is_a_data_error_not_a_crash()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Combine("train", "a"));
        for (var i = 0; i < 3; i++)
        {
            File.WriteAllBytes(dir.Combine("train", "a", $"{i}.jpg"), TruncatedJpeg());
        }

        var e = Assert.Throws<DataException>(() => PlanAdapter.Measure(DatasetFormat.ImageFolder, dir.Path, 1, null, _ => { }));
        Assert.Contains("none of the first 3 training images can be decoded", e.Message, StringComparison.Ordinal);
    }
}

internal static class TrainingSettingsTestExtensions
{
    public static TrainingSettings With(this TrainingSettings settings, int batchSplit) => settings with { BatchSplit = batchSplit };
}
