using System.Text.Json.Nodes;
using BiT.Trainer.Training;

namespace BiT.Trainer.Tests.Training;

[Collection(TorchCollection.Name)]
public sealed class TrainingEngineTests
{
    [Fact]
    public async Task A_run_writes_metrics_per_step_final_model_metrics_tensorboard_and_curves()
    {
        using var dir = new TempDir();
        var outcome = await EngineFixture.Run(dir.Path, EngineFixture.Settings(totalSteps: 6));
        Assert.Equal(TrainingOutcomeKind.Completed, outcome.Kind);
        Assert.Equal(6, outcome.Step);

        var lines = File.ReadAllLines(dir.Combine("metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        var train = lines.Where(l => l["type"]!.GetValue<string>() == "train").ToList();
        Assert.Equal(Enumerable.Range(1, 6), train.Select(l => l["step"]!.GetValue<int>()));
        Assert.All(train, l => Assert.True(double.IsFinite(l["loss"]!.GetValue<double>())));
        Assert.All(train, l => Assert.True(l["imagesPerSecond"]!.GetValue<double>() > 0));
        // Each step's own time, and the part of it spent waiting for data, not only the moving rate.
        Assert.All(train, l => Assert.True(l["stepSeconds"]!.GetValue<double>() > 0));
        Assert.All(train, l => Assert.InRange(l["dataWaitSeconds"]!.GetValue<double>(), 0, l["stepSeconds"]!.GetValue<double>()));
        // One process communicates with no one.
        Assert.All(train, l => Assert.Equal(0, l["communicationSeconds"]!.GetValue<double>()));
        // Start-up is one record of its own before the first step, not part of any step.
        var startup = Assert.Single(lines, l => l["type"]!.GetValue<string>() == "startup");
        Assert.Equal(0, lines.IndexOf(startup));
        Assert.True(startup["startupSeconds"]!.GetValue<double>() > 0);
        Assert.InRange(startup["kernelSeconds"]!.GetValue<double>(), 0, startup["startupSeconds"]!.GetValue<double>());
        // Warm-up from 0: the first step's rate is 0, the second half-way.
        Assert.Equal([0.0, 0.025, 0.05, 0.05, 0.05, 0.005], train.Select(l => l["learningRate"]!.GetValue<double>()), new ToleranceComparer(1e-12));
        Assert.Single(lines, l => l["type"]!.GetValue<string>() == "eval");

        var metrics = JsonNode.Parse(File.ReadAllText(dir.Combine("final", "metrics.json")))!;
        Assert.Equal(6, metrics["steps"]!.GetValue<int>());
        Assert.InRange(metrics["top1"]!.GetValue<double>(), 0, 1);
        Assert.True(metrics["top5"]!.GetValue<double>() >= metrics["top1"]!.GetValue<double>());
        Assert.True(File.Exists(dir.Combine("final", "model.npz")));
        Assert.NotEmpty(Directory.GetFiles(dir.Combine("tensorboard"), "events.out.tfevents.*", SearchOption.AllDirectories));
        var png = File.ReadAllBytes(dir.Combine("curves.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    [Theory]
    [InlineData(0.0, 1, 3)]
    [InlineData(0.4, 2, 3)]
    [InlineData(0.4, 2, 1)]
    [InlineData(0.4, 2, 5)]
    public async Task Resume_is_bit_identical_to_an_uninterrupted_run(double mixup, int split, int stopAt)
    {
        using var straight = new TempDir();
        using var interrupted = new TempDir();
        var finals = new List<byte[]>();
        await EngineFixture.Run(straight.Path, EngineFixture.Settings(totalSteps: 6, mixup: mixup, split: split), EngineFixture.Model(finals));

        var first = await EngineFixture.Run(interrupted.Path, EngineFixture.Settings(totalSteps: 6, mixup: mixup, split: split, stopAt: stopAt), EngineFixture.Model(finals));
        Assert.Equal(TrainingOutcomeKind.Stopped, first.Kind);
        Assert.Equal(stopAt, first.Step);
        Assert.Single(finals);
        var log = new List<string>();
        var second = await EngineFixture.Run(interrupted.Path, EngineFixture.Settings(totalSteps: 6, mixup: mixup, split: split), EngineFixture.Model(finals), log: log);
        Assert.Equal(TrainingOutcomeKind.Completed, second.Kind);
        Assert.Contains(log, l => l.Contains($"resuming from", StringComparison.Ordinal) && l.Contains($"step {stopAt} of 6", StringComparison.Ordinal));

        Assert.Equal(2, finals.Count);
        Assert.Equal(finals[0], finals[1]);
        // The log reads as one run: steps 1..6 once each.
        var steps = File.ReadAllLines(interrupted.Combine("metrics.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(l => l["type"]!.GetValue<string>() == "train").Select(l => l["step"]!.GetValue<int>());
        Assert.Equal(Enumerable.Range(1, 6), steps);
    }

    [Fact]
    public async Task Different_seeds_give_different_weights()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var finals = new List<byte[]>();
        await EngineFixture.Run(a.Path, EngineFixture.Settings(totalSteps: 3), EngineFixture.Model(finals));
        await EngineFixture.Run(b.Path, EngineFixture.Settings(totalSteps: 3) with { Seed = 12 }, EngineFixture.Model(finals));
        Assert.NotEqual(finals[0], finals[1]);
    }

    [Fact]
    public async Task A_stop_request_finishes_the_step_writes_a_checkpoint_and_returns_stopped()
    {
        using var dir = new TempDir();
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync();
        var outcome = await EngineFixture.Run(dir.Path, EngineFixture.Settings(totalSteps: 6), stop: stop.Token);
        Assert.Equal(TrainingOutcomeKind.Stopped, outcome.Kind);
        Assert.Equal(1, outcome.Step);
        Assert.True(File.Exists(dir.Combine("checkpoints", "step-00000001.ckpt")));
        Assert.False(File.Exists(dir.Combine("final", "model.npz")));
    }

    [Fact]
    public async Task Non_finite_loss_is_a_permanent_failure_that_says_so()
    {
        using var dir = new TempDir();
        var e = await Assert.ThrowsAsync<TrainingFailedException>(() => EngineFixture.Run(dir.Path, EngineFixture.Settings(), EngineFixture.Model(poison: true)));
        Assert.Contains("non-finite loss", e.Message, StringComparison.Ordinal);
        Assert.Contains("step 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_split_accumulates_to_the_same_update_as_one_big_batch()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var finals = new List<byte[]>();
        await EngineFixture.Run(a.Path, EngineFixture.Settings(totalSteps: 3, split: 1), EngineFixture.Model(finals));
        await EngineFixture.Run(b.Path, EngineFixture.Settings(totalSteps: 3, split: 4), EngineFixture.Model(finals));
        var x = ToFloats(finals[0]);
        var y = ToFloats(finals[1]);
        Assert.Equal(x.Length, y.Length);
        // Same examples, same augmentations; only the summation order differs, so float noise only. GroupNorm
        // is per example, so the statistics do not depend on the micro-batch.
        Assert.All(x.Zip(y), p => Assert.Equal(p.First, p.Second, 4));
    }

    private static float[] ToFloats(byte[] bytes) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
