using System.Diagnostics;
using System.Globalization;
using BiT.Bench.TrainerPipeline;
using BiT.Contracts.Api;
using BiT.Contracts.Rules;
using BiT.Model;
using BiT.Trainer.Checkpoints;
using BiT.Trainer.Data;
using BiT.Trainer.Telemetry;
using BiT.Trainer.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

// Trainer benchmarks; each mode prints markdown rows for docs/benchmarks.md / docs/results.md.
//   pipeline [--batch 8] [--steps 3] [--size 128]   data pipeline cost against the model step alone (R50x1)
//   images --dir D --what decode|augment|pipeline [--precrop 160 --crop 128 --seconds 5 --workers 1 --batch 32 --return 1]
//        JPEG decode / decode + augment per thread / the batch pipeline's images/s and cores (bench/images)
//   checkpoint [--repeats 3]                         checkpoint write/read of R50x1 against a plain copy/read
//   norm [--steps 1000] [--seeds 0] [--runs 4:0.01,64:0.1]   GN+WS vs BatchNorm at per-device batch 4 (and 64);
//        each run is batch:learning-rate; batch 4 trains --steps steps, larger batches steps x 4 / batch
var mode = args.Length > 0 ? args[0] : "";
var options = args.Skip(1).Select((a, i) => (a, i)).Where(p => p.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(p => p.a[2..], p => args.Skip(1).ElementAtOrDefault(p.i + 1) ?? "", StringComparer.Ordinal);
int Int(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
var root = FindRoot();
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {get_num_threads()} torch threads, load {File.ReadAllText("/proc/loadavg").Trim()}");
switch (mode)
{
    case "pipeline":
        await PipelineBench.RunAsync(root, Int("batch", 8), Int("steps", 3), Int("size", 128));
        break;
    case "images":
        await ImageBench.RunAsync(
            options.TryGetValue("dir", out var dir) ? dir : "/tmp/bit-bench-images",
            options.TryGetValue("what", out var what) ? what : "augment",
            Int("precrop", 160), Int("crop", 128), Int("seconds", 5), Int("workers", 1), Int("batch", 32), Int("return", 1) != 0);
        return 0;
    case "checkpoint":
        CheckpointBench.Run(Int("repeats", 3));
        break;
    case "norm":
        await NormExperiment.RunAsync(
            root,
            Int("steps", 1000),
            options.TryGetValue("seeds", out var s) ? [.. s.Split(',').Select(long.Parse)] : [0L],
            options.TryGetValue("runs", out var r) ? r : "4:0.01,64:0.1");
        break;
    default:
        Console.Error.WriteLine("usage: TrainerPipeline pipeline|checkpoint|norm [options]");
        return 2;
}
Console.WriteLine($"peak memory (VmHWM): {Memory.PeakMiB():0} MiB");
return 0;

static string FindRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BiT.Operator.sln")))
    {
        dir = dir.Parent;
    }
    return dir?.FullName ?? Directory.GetCurrentDirectory();
}

internal static class Memory
{
    public static double PeakMiB() => File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
        .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).FirstOrDefault();
}

internal static class PipelineBench
{
    public static async Task RunAsync(string root, int batch, int steps, int size)
    {
        var precrop = size * 5 / 4;
        var arch = BitArchitecture.Parse("R50x1");
        using var model = BitResNet.Create(arch, 10, 0);
        model.train();
        using var sgd = new SgdMomentum(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), 0.9, 0);
        Console.WriteLine($"R50x1, batch {batch}, precrop {precrop} -> crop {size}, 2 rounds of {steps} model-alone + {steps} pipeline-fed steps, workers {Environment.ProcessorCount}");

        // The model step alone runs on one batch made up front. The machine is shared and its load drifts, so the
        // two are measured in alternating blocks (model alone, then pipeline-fed) and summed per kind.
        var fixedBatch = new Batch(new float[batch * 3 * size * size], [.. Enumerable.Range(0, batch).Select(i => i % 10)], size);
        Step(model, sgd, fixedBatch);
        var fashion = IdxDataset.Open(Path.Combine(root, "data", "fashion-mnist-subset"), DataSplit.Train, 10);
        var jpegs = JpegFolder(Path.Combine(Path.GetTempPath(), "bit-bench-jpeg"), 64);
        Console.WriteLine("| data | decode+augment alone (img/s) | model alone (s/step) | pipeline-fed (s/step) | pipeline cost | consumer waited for data |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var (name, data) in new (string, IImageDataset)[] { ("Fashion-MNIST IDX 28x28 gray", fashion), ("JPEG 500x375 ImageFolder", jpegs) })
        {
            var transform = new FineTuneTransform(precrop, size);
            var order = new SampleOrder(data.Count, 0);
            double dataRate;
            await using (var alone = new BatchPipeline(data, transform, BatchPlans.Training(order, batch, 0), 0, Environment.ProcessorCount, 4))
            {
                await alone.NextAsync(default);
                var t = Stopwatch.StartNew();
                for (var i = 0; i < steps * 4; i++)
                {
                    await alone.NextAsync(default);
                }
                dataRate = steps * 4 * batch / t.Elapsed.TotalSeconds;
            }
            double modelSeconds = 0, fedSeconds = 0, waited = 0;
            for (var round = 0; round < 2; round++)
            {
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < steps; i++)
                {
                    Step(model, sgd, fixedBatch);
                }
                modelSeconds += sw.Elapsed.TotalSeconds;
                await using var feed = new BatchPipeline(data, transform, BatchPlans.Training(order, batch, 1000 * (round + 1)), 0, Environment.ProcessorCount, 4);
                // One untimed step fills the prefetch queue, as in a running job.
                Step(model, sgd, (await feed.NextAsync(default))!);
                var waitedBefore = feed.WaitTime;
                sw.Restart();
                for (var i = 0; i < steps; i++)
                {
                    Step(model, sgd, (await feed.NextAsync(default))!);
                }
                fedSeconds += sw.Elapsed.TotalSeconds;
                waited += (feed.WaitTime - waitedBefore).TotalSeconds;
            }
            var n = 2.0 * steps;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {dataRate:0} | {modelSeconds / n:0.000} | {fedSeconds / n:0.000} | {(fedSeconds - modelSeconds) / modelSeconds:+0.0%;-0.0%} | {waited / fedSeconds:0.0%} of the time |"));
        }
    }

    private static void Step(BitResNet model, SgdMomentum sgd, Batch batch)
    {
        using var scope = torch.NewDisposeScope();
        sgd.ZeroGrad();
        var x = torch.tensor(batch.Pixels, [batch.Count, 3, batch.Size, batch.Size]);
        var y = torch.tensor(batch.Labels.Select(l => (long)l).ToArray(), [batch.Count]);
        var loss = nn.functional.cross_entropy(model.forward(x), y);
        loss.backward();
        sgd.Step(0.003);
    }

    private static ImageFolderDataset JpegFolder(string dir, int perClass)
    {
        var random = new Random(0);
        for (var c = 0; c < 2; c++)
        {
            var classDir = Path.Combine(dir, "train", $"class{c}");
            Directory.CreateDirectory(classDir);
            Directory.CreateDirectory(Path.Combine(dir, "test", $"class{c}"));
            for (var i = 0; i < perClass; i++)
            {
                var path = Path.Combine(classDir, $"{i:D4}.jpg");
                if (File.Exists(path))
                {
                    continue;
                }
                using var bitmap = new SKBitmap(500, 375);
                using (var canvas = new SKCanvas(bitmap))
                {
                    canvas.Clear(new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
                    using var paint = new SKPaint { IsAntialias = true };
                    for (var k = 0; k < 40; k++)
                    {
                        paint.Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                        canvas.DrawCircle(random.Next(500), random.Next(375), random.Next(5, 80), paint);
                    }
                }
                using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
                File.WriteAllBytes(path, data.ToArray());
            }
        }
        return ImageFolderDataset.Open(dir, DataSplit.Train, 2, null);
    }
}

internal static class CheckpointBench
{
    public static void Run(int repeats)
    {
        using var model = BitResNet.Create(BitArchitecture.Parse("R50x1"), 1000, 0);
        using var sgd = new SgdMomentum(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), 0.9, 0);
        var settings = new TrainingSettings { Schedule = new LearningRateSchedule(0.1, 0, [], 10), BatchSize = 1, CropSize = 8, NumClasses = 1000, PlanHash = "bench" };
        var dir = Path.Combine(Path.GetTempPath(), "bit-bench-ckpt");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, true);
        }
        Directory.CreateDirectory(dir);
        var store = new CheckpointStore(dir, 1, Console.Error.WriteLine);
        double write = 0, capture = 0, copy = 0, read = 0, readOnly = 0, plainRead = 0;
        long bytes = 0;
        for (var r = 0; r < repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            var captured = CheckpointMapper.Capture(r + 1, settings, model, sgd, DateTimeOffset.UnixEpoch);
            capture += sw.Elapsed.TotalSeconds;
            var path = store.Write(captured);
            write += sw.Elapsed.TotalSeconds;
            bytes = new FileInfo(path).Length;

            // Baseline: a plain copy of the same bytes, flushed to disk the same way.
            var target = Path.Combine(dir, "copy.bin");
            sw.Restart();
            using (var source = File.OpenRead(path))
            using (var output = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                source.CopyTo(output, 1 << 20);
                output.Flush(flushToDisk: true);
            }
            copy += sw.Elapsed.TotalSeconds;

            sw.Restart();
            var state = CheckpointFile.Read(path);
            readOnly += sw.Elapsed.TotalSeconds;
            CheckpointMapper.Restore(state, model, sgd);
            read += sw.Elapsed.TotalSeconds;

            sw.Restart();
            _ = File.ReadAllBytes(target);
            plainRead += sw.Elapsed.TotalSeconds;
        }
        Console.WriteLine($"R50x1 (1000-class head) weights + momentum: {bytes / 1048576.0:0.0} MiB per checkpoint, {repeats} repeats");
        Console.WriteLine("| operation | checkpoint (s) | plain file (s) | ratio |");
        Console.WriteLine("| --- | --- | --- | --- |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| write: capture + SHA-256 + write + fsync + rename vs copy + fsync | {write / repeats:0.000} | {copy / repeats:0.000} | {write / copy:0.00}x |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| of which capture (tensors to byte arrays) | {capture / repeats:0.000} | | |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| read: read + verify SHA-256 + restore into the network vs ReadAllBytes | {read / repeats:0.000} | {plainRead / repeats:0.000} | {read / plainRead:0.00}x |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| of which read + verify only (no restore) | {readOnly / repeats:0.000} | {plainRead / repeats:0.000} | {readOnly / plainRead:0.00}x |"));
    }
}

internal static class NormExperiment
{
    public static async Task RunAsync(string root, int steps, long[] seeds, string runs)
    {
        var data = Path.Combine(root, "data", "fashion-mnist-subset");
        var (train, test) = DatasetLoader.OpenSplits(DatasetFormat.Idx, data, 10, Console.Error.WriteLine);
        Console.WriteLine($"Fashion-MNIST subset: {train.Count} train, {test.Count} test; blocks [1,1,1,1] width 0.5, 32 px crop from 36 px");
        Console.WriteLine("| normalisation | batch | steps | lr | seed | top-1 % | final loss |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var seed in seeds)
        {
            foreach (var run in runs.Split(','))
            {
                var batch = int.Parse(run.Split(':')[0], CultureInfo.InvariantCulture);
                var lr = double.Parse(run.Split(':')[1], CultureInfo.InvariantCulture);
                // Same number of images seen for every batch size up to 16; larger batches get a quarter as many steps as batch 4.
                var n = batch <= 16 ? steps * 4 / batch : Math.Max(1, steps / 4);
                foreach (var (name, create) in new (string, Func<nn.Module<Tensor, Tensor>>)[]
                {
                    ("GroupNorm + WS (BiT)", () => BitResNet.Create(BitArchitecture.Custom([1, 1, 1, 1], 0.5), 10, seed)),
                    ("BatchNorm, plain conv", () => new BatchNormResNet([1, 1, 1, 1], 0.5, 10)),
                })
                {
                    var settings = new TrainingSettings
                    {
                        Schedule = new LearningRateSchedule(lr, n / 10, [n / 2, n * 3 / 4, n * 9 / 10], n),
                        BatchSize = batch,
                        PrecropSize = 36,
                        CropSize = 32,
                        Seed = seed,
                        NumClasses = 10,
                        PlanHash = $"norm-{name}-{batch}-{seed}",
                        Checkpoints = new CheckpointPolicy(Keep: 1),
                    };
                    var dir = Path.Combine(Path.GetTempPath(), "bit-norm", $"{name.Split(' ')[0]}-{batch}-{seed}");
                    if (Directory.Exists(dir))
                    {
                        Directory.Delete(dir, true);
                    }
                    var lines = new List<string>();
                    var outcome = await new TrainingEngine(TimeProvider.System, lines.Add).RunAsync(
                        new BiT.Trainer.Training.NetworkSpec(create, (_, _) => { }, name), train, test, settings, dir, NullReporter.Instance, CancellationToken.None);
                    var loss = File.ReadLines(Path.Combine(dir, "metrics.jsonl")).Where(l => l.Contains("\"train\"", StringComparison.Ordinal)).TakeLast(20)
                        .Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!["loss"]!.GetValue<double>()).Average();
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {batch} | {n} | {lr} | {seed} | {100 * outcome.Eval!.Top1:0.0} | {loss:0.000} |"));
                }
            }
        }
    }
}
