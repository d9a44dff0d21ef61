using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BiT.Contracts.Rules;
using BiT.Trainer.Data;
using BiT.Trainer.Telemetry;
using BiT.Trainer.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace BiT.Trainer.Tests.Training;

/// <summary>
/// Data-parallel training against one process and against PyTorch's DistributedDataParallel (docs/distributed.md,
/// "What is measured"). Ranks run on threads of this process with real Gloo groups; the launcher's process-level
/// behaviour is in Commands/LauncherTests.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class DataParallelTests(ITestOutputHelper output)
{
    // Measured on the test machine (docs/distributed.md): gradients 2 ranks vs 1 differ by at most ~1e-8 (float
    // summation order); the bounds leave two orders of magnitude for other CPUs and kernels.
    private const double GradientTolerance = 1e-6;

    private static (Tensor X, Tensor Y) Batch(int n)
    {
        var generator = new Generator(42);
        var x = torch.randn([n, 3, 16, 16], generator: generator);
        var y = torch.tensor(Enumerable.Range(0, n).Select(i => (long)(i * 7 % 4)).ToArray());
        return (x, y);
    }

    private static Dictionary<string, float[]> Gradients(TinyNet net, Tensor x, Tensor y, DataParallel? world)
    {
        var loss = Losses.CrossEntropy(net.forward(x), y, LossFunction.Softmax, 4);
        loss.backward();
        var parameters = net.named_parameters().ToList();
        world?.AverageGradients([.. parameters.Select(p => (Tensor)p.parameter)]);
        return parameters.ToDictionary(p => p.name, p => p.parameter.grad!.contiguous().data<float>().ToArray());
    }

    private static double MaxDifference(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        return a.Keys.Max(k => a[k].Zip(b[k], (u, v) => Math.Abs((double)u - v)).Max());
    }

    [Theory]
    [InlineData(2, 100)]
    [InlineData(3, DataParallel.DefaultBucketFloats)]
    public void Averaged_gradient_of_the_ranks_equals_the_gradient_of_the_whole_batch(int worldSize, int bucketFloats)
    {
        var (x, y) = Batch(12);
        using var single = Ranks.Net();
        var expected = Gradients(single, x, y, null);
        var share = 12 / worldSize;
        // 100 floats per bucket splits the ~300 gradients over several all-reduces, one larger than a bucket.
        var perRank = Ranks.Run(worldSize, world =>
        {
            using var net = Ranks.Net();
            var slice = TensorIndex.Slice(world.Rank * share, (world.Rank + 1) * share);
            return Gradients(net, x[slice], y[slice], world);
        }, bucketFloats);
        foreach (var g in perRank)
        {
            var difference = MaxDifference(expected, g);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{worldSize} ranks vs 1 process: max |gradient difference| {difference:E2}"));
            Assert.True(difference < GradientTolerance, $"{difference}");
        }
        // Every rank holds the same averaged gradient, bit for bit (one all-reduce result).
        Assert.All(perRank, g => Assert.Equal(0, MaxDifference(perRank[0], g)));
        // Not vacuous: one rank's own gradient is far from the whole batch's.
        using var alone = Ranks.Net();
        Assert.True(MaxDifference(expected, Gradients(alone, x[TensorIndex.Slice(0, share)], y[TensorIndex.Slice(0, share)], null)) > 1e-3);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Gradients_reduced_while_backward_runs_equal_the_gradient_of_the_whole_batch(int worldSize)
    {
        var (x, y) = Batch(12);
        using var single = Ranks.Net();
        var expectedLoss = Losses.CrossEntropy(single.forward(x), y, LossFunction.Softmax, 4).item<float>();
        single.zero_grad();
        var expected = Gradients(single, x, y, null);
        var share = 12 / worldSize;
        // 10 floats per bucket: the head's and the norm's parameters (used after the first layer) make four buckets
        // that can start during backward; the first layer's (its input needs no gradient) two more after it.
        var perRank = Ranks.Run(worldSize, world =>
        {
            using var net = Ranks.Net();
            var parameters = net.named_parameters().ToList();
            using var overlap = world.Overlap(net, [.. parameters.Select(p => (Tensor)p.parameter)]);
            Assert.NotNull(overlap);
            overlap.Arm();
            var slice = TensorIndex.Slice(world.Rank * share, (world.Rank + 1) * share);
            var loss = Losses.CrossEntropy(net.forward(x[slice]), y[slice], LossFunction.Softmax, 4);
            loss.backward();
            var startedDuringBackward = overlap.BucketsStartedDuringBackward;
            var (agreed, stop) = world.FinishStep(overlap, loss.item<float>(), world.Rank == 1);
            var grads = parameters.ToDictionary(p => p.name, p => p.parameter.grad!.contiguous().data<float>().ToArray());
            return (Grads: grads, StartedDuringBackward: startedDuringBackward, overlap.Buckets, Loss: agreed, Stop: stop);
        }, bucketFloats: 10);
        foreach (var rank in perRank)
        {
            var difference = MaxDifference(expected, rank.Grads);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{worldSize} ranks, overlapped, vs 1 process: max |gradient difference| {difference:E2}; {rank.StartedDuringBackward} of {rank.Buckets} buckets started during backward"));
            Assert.True(difference < GradientTolerance, $"{difference}");
            Assert.Equal(6, rank.Buckets);
            Assert.Equal(4, rank.StartedDuringBackward);
            Assert.Equal(expectedLoss, rank.Loss, 1e-5);
            Assert.True(rank.Stop);
        }
        Assert.All(perRank, r => Assert.Equal(0, MaxDifference(perRank[0].Grads, r.Grads)));
    }

    [Fact]
    public void Overlapped_reduction_is_exact_on_the_BiT_network_with_its_residual_units()
    {
        // The real network: pre-activation units whose input feeds both the projection and conv1, weight
        // standardisation, GroupNorm, the 1x1-as-matrix-product path. Buckets of 2,000 floats, so many start while
        // backward is still in the units before them.
        static BiT.Model.BitResNet Net()
        {
            var net = BiT.Model.BitResNet.Create(BiT.Model.BitArchitecture.Parse("R1-1-1-1x0.5"), 4, seed: 5);
            using var noGrad = torch.no_grad();
            var generator = new Generator(6);
            // BiT's head starts at zero, which would make every other gradient zero: give it weights.
            foreach (var (name, p) in net.named_parameters().Where(p => p.name.StartsWith("head", StringComparison.Ordinal)))
            {
                p.copy_(torch.randn(p.shape, generator: generator).mul_(0.1));
            }
            return net;
        }
        var generator = new Generator(7);
        var x = torch.randn([8, 3, 32, 32], generator: generator);
        var y = torch.tensor(Enumerable.Range(0, 8).Select(i => (long)(i % 4)).ToArray());
        using var single = Net();
        Losses.CrossEntropy(single.forward(x).flatten(1), y, LossFunction.Softmax, 4).backward();
        var expected = single.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.contiguous().data<float>().ToArray());
        // Built here, one after the other: the seed goes through torch's global generator, which threads share.
        var nets = new[] { Net(), Net() };
        var perRank = Ranks.Run(2, world =>
        {
            using var net = nets[world.Rank];
            var parameters = net.named_parameters().ToList();
            using var overlap = world.Overlap(net, [.. parameters.Select(p => (Tensor)p.parameter)])!;
            overlap.Arm();
            var slice = TensorIndex.Slice(world.Rank * 4, (world.Rank + 1) * 4);
            Losses.CrossEntropy(net.forward(x[slice]).flatten(1), y[slice], LossFunction.Softmax, 4).backward();
            var started = overlap.BucketsStartedDuringBackward;
            world.FinishStep(overlap, 0, false);
            return (Grads: parameters.ToDictionary(p => p.name, p => p.parameter.grad!.contiguous().data<float>().ToArray()), Started: started, overlap.Buckets);
        }, bucketFloats: 2000);
        foreach (var rank in perRank)
        {
            var difference = MaxDifference(expected, rank.Grads);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"BiT R1-1-1-1x0.5, 2 ranks overlapped vs 1 process: max |gradient difference| {difference:E2}; {rank.Started} of {rank.Buckets} buckets started during backward"));
            Assert.True(difference < GradientTolerance, $"{difference}");
            Assert.InRange(rank.Started, rank.Buckets / 2, rank.Buckets - 1);
        }
        // Not vacuous: the body's gradients are not zero.
        Assert.Contains(expected, g => !g.Key.StartsWith("head", StringComparison.Ordinal) && g.Value.Any(v => Math.Abs(v) > 1e-6));
    }

    [Fact]
    public void One_process_and_the_evaluation_pass_start_nothing()
    {
        using var net = Ranks.Net();
        Assert.Null(DataParallel.Single.Overlap(net, [.. net.parameters().Select(p => (Tensor)p)]));
    }

    [Fact]
    public async Task Averaged_gradient_equals_what_PyTorch_DistributedDataParallel_computes_with_gloo()
    {
        var python = "/usr/bin/python3";
        Assert.True(File.Exists(python), $"{python} is needed (scripts/install-test-deps.sh installs python3-torch)");
        using var dir = new TempDir();
        var (x, y) = Batch(8);
        using (var net = Ranks.Net())
        {
            var meta = new Dictionary<string, object>
            {
                ["params"] = net.named_parameters().Select(p => new { p.name, shape = p.parameter.shape }).ToList(),
                ["x"] = x.shape,
            };
            foreach (var (name, p) in net.named_parameters())
            {
                File.WriteAllBytes(dir.Combine($"param.{name}.bin"), p.detach().contiguous().bytes.ToArray());
            }
            File.WriteAllBytes(dir.Combine("x.bin"), x.contiguous().bytes.ToArray());
            File.WriteAllBytes(dir.Combine("y.bin"), y.contiguous().bytes.ToArray());
            File.WriteAllText(dir.Combine("meta.json"), JsonSerializer.Serialize(meta));
        }
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(TestPaths.RepoRoot, "tests", "BiT.Trainer.Tests", "Training", "ddp_reference.py"));
        start.ArgumentList.Add(dir.Path);
        using (var process = Process.Start(start)!)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, await stdout + await stderr);
            output.WriteLine(await stdout);
        }

        var ours = Ranks.Run(2, world =>
        {
            using var net = Ranks.Net();
            var slice = TensorIndex.Slice(world.Rank * 4, (world.Rank + 1) * 4);
            return Gradients(net, x[slice], y[slice], world);
        });
        var reference = ours[0].Keys.ToDictionary(k => k, k =>
        {
            var bytes = File.ReadAllBytes(dir.Combine($"grad.{k}.bin"));
            var floats = new float[bytes.Length / sizeof(float)];
            Buffer.BlockCopy(bytes, 0, floats, 0, bytes.Length);
            return floats;
        });
        var difference = MaxDifference(reference, ours[0]);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"2 ranks (Gloo through bit-trainer) vs PyTorch DDP (gloo): max |gradient difference| {difference:E2}"));
        Assert.True(difference < GradientTolerance, $"{difference}");
    }

    private static NetworkSpec SeededModel(List<byte[]> finals) => new(
        Ranks.Net,
        (model, path) =>
        {
            lock (finals)
            {
                finals.Add(TinyNet.Snapshot(model));
            }
            File.WriteAllBytes(path, TinyNet.Snapshot(model));
        },
        "TinyNet");

    private static TrainingOutcome[] Train(string dir, int worldSize, TrainingSettings settings, List<byte[]> finals) =>
        Ranks.Run(worldSize, world =>
        {
            var (train, test) = EngineFixture.Data();
            return new TrainingEngine(TimeProvider.System, _ => { }).RunAsync(
                SeededModel(finals), train, test, settings with { WorldSize = world.WorldSize, Rank = world.Rank }, dir,
                NullReporter.Instance, CancellationToken.None, world: world).GetAwaiter().GetResult();
        });

    private static double MaxDifference(byte[] a, byte[] b)
    {
        var u = new float[a.Length / 4];
        var v = new float[b.Length / 4];
        Buffer.BlockCopy(a, 0, u, 0, a.Length);
        Buffer.BlockCopy(b, 0, v, 0, b.Length);
        Assert.Equal(u.Length, v.Length);
        return u.Zip(v, (p, q) => Math.Abs((double)p - q)).Max();
    }

    // Measured (docs/distributed.md): 6 steps of TinyNet, 2 and 3 ranks vs 1, max |weight difference| ~1e-7.
    private const double WeightTolerance = 1e-5;

    [Fact]
    public void A_fine_tune_on_1_2_and_3_ranks_at_the_same_global_batch_ends_with_equal_weights()
    {
        var settings = EngineFixture.Settings(totalSteps: 6, batch: 12);
        var finals = new Dictionary<int, byte[]>();
        foreach (var world in new[] { 1, 2, 3 })
        {
            using var dir = new TempDir();
            var saved = new List<byte[]>();
            var outcomes = Train(dir.Path, world, settings, saved);
            Assert.All(outcomes, o => Assert.Equal(6, o.Step));
            // Rank 0 alone evaluates and saves the final model and metrics.
            Assert.Single(saved);
            Assert.Single(outcomes, o => o.Eval is not null);
            Assert.Equal(6, File.ReadLines(Path.Combine(dir.Path, "metrics.jsonl")).Count(l => l.Contains("\"train\"", StringComparison.Ordinal)));
            finals[world] = saved[0];
        }
        foreach (var world in new[] { 2, 3 })
        {
            var difference = MaxDifference(finals[1], finals[world]);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{world} ranks vs 1 after 6 steps: max |weight difference| {difference:E2}"));
            Assert.True(difference < WeightTolerance, $"{difference}");
        }
        // Not vacuous: the weights moved by far more than the tolerance.
        using var initial = Ranks.Net();
        Assert.True(MaxDifference(TinyNet.Snapshot(initial), finals[1]) > 1e-3);
    }

    [Fact]
    public void A_run_stopped_on_2_ranks_and_resumed_on_3_ends_at_the_same_step_with_equivalent_weights()
    {
        var settings = EngineFixture.Settings(totalSteps: 6, batch: 12);
        using var whole = new TempDir();
        var uninterrupted = new List<byte[]>();
        Train(whole.Path, 1, settings, uninterrupted);

        using var dir = new TempDir();
        var none = new List<byte[]>();
        var first = Train(dir.Path, 2, settings with { StopAtStep = 3 }, none);
        Assert.All(first, o => Assert.Equal((TrainingOutcomeKind.Stopped, 3), (o.Kind, o.Step)));
        Assert.Empty(none);
        var resumed = new List<byte[]>();
        var second = Train(dir.Path, 3, settings, resumed);
        Assert.All(second, o => Assert.Equal((TrainingOutcomeKind.Completed, 6), (o.Kind, o.Step)));
        var difference = MaxDifference(uninterrupted[0], resumed[0]);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stopped at 3 on 2 ranks, resumed on 3, vs 1 rank uninterrupted: max |weight difference| {difference:E2}"));
        Assert.True(difference < WeightTolerance, $"{difference}");
        // The metrics read as one run of 6 steps.
        Assert.Equal(Enumerable.Range(1, 6), File.ReadLines(Path.Combine(dir.Path, "metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "train")
            .Select(e => e.GetProperty("step").GetInt32()));
    }

    [Fact]
    public void A_world_size_that_does_not_divide_the_batch_is_an_error_naming_both()
    {
        var e = Assert.Throws<TrainingFailedException>(() => (EngineFixture.Settings(batch: 8) with { WorldSize = 3, Rank = 0 }).Validate());
        Assert.Contains("batchSize (8)", e.Message, StringComparison.Ordinal);
        Assert.Contains("world size (3", e.Message, StringComparison.Ordinal);
        var split = Assert.Throws<TrainingFailedException>(() => (EngineFixture.Settings(batch: 8, split: 4) with { WorldSize = 4, Rank = 1 }).Validate());
        Assert.Contains("batchSplit (4)", split.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_ranks_slices_are_disjoint_and_together_the_global_batch_of_one_process()
    {
        var order = new SampleOrder(37, 5);
        var single = BatchPlans.TrainingShard(order, 12, 2, 1, 0, firstStep: 4);
        var expected = Enumerable.Range(0, 6).SelectMany(b => single(b)!).ToList();
        foreach (var world in new[] { 2, 3, 6 })
        {
            var plans = Enumerable.Range(0, world).Select(r => BatchPlans.TrainingShard(order, 12, 12 / world == 2 ? 1 : 2, world, r, firstStep: 4)).ToList();
            var split = 12 / world == 2 ? 1 : 2;
            var got = new List<SampleRef>();
            for (var step = 0; step < 3; step++)
            {
                for (var r = 0; r < world; r++)
                {
                    for (var m = 0; m < split; m++)
                    {
                        got.AddRange(plans[r](step * split + m)!);
                    }
                }
            }
            Assert.Equal(expected, got);
        }
        // One rank, one split: the planner of a single process.
        Assert.Equal(
            Enumerable.Range(0, 4).SelectMany(b => BatchPlans.Training(order, 6, 8)(b)!),
            Enumerable.Range(0, 4).SelectMany(b => BatchPlans.TrainingShard(order, 12, 2, 1, 0, 4)(b)!));
    }
}
