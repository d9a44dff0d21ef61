using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BiT.Contracts.Plans;

namespace BiT.Trainer.Tests.Commands;

/// <summary>
/// <c>bit-trainer run MANIFEST --processes N</c> as a user runs it: real child processes, real Gloo over loopback.
/// Waits are on output lines and exits (bounded), never fixed sleeps.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class LauncherTests
{
    private static string Manifest(int steps, int batch = 8) => $$"""
        apiVersion: bit.training/v1alpha1
        kind: BiTFineTuneJob
        metadata: {name: ranks}
        spec:
          model: {architecture: Custom, blocks: [1, 1, 1, 1], widthFactor: 0.5}
          dataset: {format: Idx, path: {{TestPaths.FashionSubset}}, numClasses: 10}
          hyperparameters: {batchSize: {{batch}}, totalSteps: {{steps}}, precropSize: 36, cropSize: 32}
          checkpoint: {everySteps: 1000, keep: 2}
        """;

    private static Process Start(TempDir dir, int processes)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir.Path,
        };
        foreach (var a in new[]
                 {
                     Path.Combine(AppContext.BaseDirectory, "bit-trainer.dll"), "run", dir.Combine("job.yaml"), "--workdir", dir.Combine("work"),
                     "--data-threads", "1", "--eval-every", "0", "--processes", processes.ToString(CultureInfo.InvariantCulture),
                 })
        {
            start.ArgumentList.Add(a);
        }
        // The kernel choice is the probe's business (its own tests); a short collective timeout bounds a hang.
        start.Environment["BIT_ONEDNN"] = "on";
        start.Environment["BIT_COLLECTIVE_TIMEOUT_SECONDS"] = "120";
        return Process.Start(start)!;
    }

    [Fact]
    public async Task Two_processes_train_and_rank_0_alone_writes_the_outputs()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), Manifest(4));
        using var process = Start(dir, 2);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("started rank 1 of 2", output, StringComparison.Ordinal);
        Assert.Contains("ranks        2, gradients by Gloo (the gradients are on the CPU), 4 images of each global batch per rank", output, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.Combine("work", "final", "model.npz")));
        var metrics = JsonDocument.Parse(File.ReadAllText(dir.Combine("work", "final", "metrics.json"))).RootElement;
        Assert.Equal(4, metrics.GetProperty("steps").GetInt32());
        // One writer: four train records, not eight.
        var train = File.ReadLines(dir.Combine("work", "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("type").GetString() == "train").ToList();
        Assert.Equal(4, train.Count);
        // Each step records the time spent in collectives (the loss agreement and the gradient buckets at least),
        // part of that step's time.
        Assert.All(train, r => Assert.InRange(r.GetProperty("communicationSeconds").GetDouble(), 1e-6, r.GetProperty("stepSeconds").GetDouble()));
        // The result line is rank 0's, once.
        Assert.Single((await stdout).Split('\n'), l => l.StartsWith("{\"top1\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_killed_rank_ends_the_run_with_an_error_within_a_bounded_time()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), Manifest(100_000));
        using var process = Start(dir, 2);
        var stderr = process.StandardError.ReadToEndAsync();
        int? victim = null;
        var killedAt = DateTime.MinValue;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var lines = new List<string>();
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            lines.Add(line);
            if (line.StartsWith("started rank 1 of 2 (pid ", StringComparison.Ordinal))
            {
                victim = int.Parse(line["started rank 1 of 2 (pid ".Length..^1], CultureInfo.InvariantCulture);
            }
            if (line.StartsWith("step 1/", StringComparison.Ordinal) && victim is { } pid && killedAt == DateTime.MinValue)
            {
                using var rank1 = Process.GetProcessById(pid);
                rank1.Kill();
                killedAt = DateTime.UtcNow;
            }
        }
        await process.WaitForExitAsync(timeout.Token);
        var error = await stderr;
        Assert.True(killedAt != DateTime.MinValue, string.Join('\n', lines) + error);
        // Rank 0 learns of the death from its next all-reduce (the closed connection), not from the 120 s timeout.
        var ended = DateTime.UtcNow - killedAt;
        Assert.True(ended < TimeSpan.FromSeconds(100), $"the run ended {ended.TotalSeconds:F0} s after the kill\n{error}");
        Assert.Equal(TrainerExitCodes.TransientFailure, process.ExitCode);
        var last = error.TrimEnd().Split('\n')[^1];
        Assert.Contains("rank 1 was killed by SIGKILL", last, StringComparison.Ordinal);
        Assert.Contains("failed on rank 0 of 2", last, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.Combine("work", "final", "model.npz")));
    }

    [Fact]
    public async Task A_world_size_that_does_not_divide_the_batch_fails_naming_both()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), Manifest(4, batch: 8));
        using var process = Start(dir, 3);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var error = await stderr;
        Assert.True(process.ExitCode == TrainerExitCodes.PermanentFailure, await stdout + error);
        var last = error.TrimEnd().Split('\n')[^1];
        Assert.Contains("batchSize (8) is not divisible by the world size (3 processes)", last, StringComparison.Ordinal);
    }
}
