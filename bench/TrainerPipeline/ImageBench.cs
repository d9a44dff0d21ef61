using System.Diagnostics;
using System.Globalization;
using BiT.Trainer.Data;

namespace BiT.Bench.TrainerPipeline;

/// <summary>
/// The C# side of the image benchmarks (bench/images/pillow_images.py is Pillow's): every JPEG of DIR/train.
///   decode:   decode to RGB at full size (the pooled path: the file and the pixels in per-thread buffers)
///   augment:  the trainer's FineTuneTransform (precrop square, random crop, flip, float CHW) on the image decoded
///             with shrink-on-load, one thread
///   pipeline: BatchPipeline with --workers threads producing batches of --batch for --seconds, nobody training:
///             images/s and the CPU cores the process used for them; each batch is handed back to the pool unless
///             --return 0
/// Prints "RESULT csharp what precrop->crop images/s cores gen2-collections-per-1000-images".
/// </summary>
internal static class ImageBench
{
    public static async Task RunAsync(string dir, string what, int precrop, int crop, double seconds, int workers, int batch, bool giveBack = true)
    {
        var data = ImageFolderDataset.Open(dir, DataSplit.Train, 0, null);
        var transform = new FineTuneTransform(precrop, crop);
        var destination = new float[3 * crop * crop];
        var random = new DeterministicRandom(0, RandomPurpose.Augment, 0, 0);
        void One(int i)
        {
            if (what == "decode")
            {
                data.LoadForTransform(i, 0, 0);
            }
            else
            {
                var image = data.LoadForTransform(i, transform.MinimumSourceSide, transform.MinimumSourceSide);
                random = new DeterministicRandom(0, RandomPurpose.Augment, 0, i);
                transform.Apply(image, ref random, destination);
            }
        }

        for (var i = 0; i < Math.Min(8, data.Count); i++)
        {
            One(i);
        }
        var process = Process.GetCurrentProcess();
        var gen2 = GC.CollectionCount(2);
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        long count = 0;
        if (what == "pipeline")
        {
            var order = new SampleOrder(data.Count, 0);
            await using var pipeline = new BatchPipeline(data, transform, BatchPlans.Training(order, batch, 0), 0, workers, 4);
            var first = (await pipeline.NextAsync(default))!;
            if (giveBack)
            {
                pipeline.Return(first);
            }
            process.Refresh();
            (cpu, watch, gen2) = (process.TotalProcessorTime, Stopwatch.StartNew(), GC.CollectionCount(2));
            while (watch.Elapsed.TotalSeconds < seconds)
            {
                // As the trainer does once the batch is in a tensor: its pixel array goes back to the pipeline
                // (--return 0: never, each batch a new array, as before the pool).
                var next = (await pipeline.NextAsync(default))!;
                if (giveBack)
                {
                    pipeline.Return(next);
                }
                count += batch;
            }
        }
        else
        {
            while (watch.Elapsed.TotalSeconds < seconds)
            {
                for (var i = 0; i < data.Count; i++)
                {
                    One(i);
                }
                count += data.Count;
            }
        }
        var wall = watch.Elapsed.TotalSeconds;
        process.Refresh();
        var cores = (process.TotalProcessorTime - cpu).TotalSeconds / wall;
        var gcs = (GC.CollectionCount(2) - gen2) * 1000.0 / count;
        var label = what == "pipeline" ? $"pipeline{workers}" : what;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT csharp {label} {precrop}->{crop} {count / wall:0.0} {cores:0.00} {gcs:0.0}"));
    }
}
