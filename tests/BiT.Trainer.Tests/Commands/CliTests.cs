using System.Diagnostics;
using BiT.Contracts.Plans;
using BiT.Trainer.Commands;

namespace BiT.Trainer.Tests.Commands;

[Collection(TorchCollection.Name)]
public sealed class CliTests
{
    private static string Manifest(int steps) => $$"""
        apiVersion: bit.training/v1alpha1
        kind: BiTFineTuneJob
        metadata: {name: cli}
        spec:
          model: {architecture: Custom, blocks: [1, 1, 1, 1], widthFactor: 0.5}
          dataset: {format: Idx, path: {{TestPaths.FashionSubset}}, numClasses: 10}
          hyperparameters: {batchSize: 8, totalSteps: {{steps}}, precropSize: 36, cropSize: 32}
          checkpoint: {everySteps: 1000, keep: 2}
        """;

    private static async Task<(int Code, string Out, string Err)> Cli(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await BiT.Trainer.Program.Commands().RunAsync(args, new CommandConsole(output, error), CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Run_and_train_are_registered_and_usage_errors_exit_2()
    {
        var (code, output, _) = await Cli("--help");
        Assert.Equal(0, code);
        Assert.Contains("run", output, StringComparison.Ordinal);
        Assert.Contains("train", output, StringComparison.Ordinal);
        Assert.Equal(TrainerExitCodes.Usage, (await Cli("run")).Code);
        Assert.Equal(TrainerExitCodes.Usage, (await Cli("train")).Code);
        Assert.Equal(TrainerExitCodes.Usage, (await Cli("run", "x.yaml", "--max-steps", "zero")).Code);
    }

    [Theory]
    [InlineData("run", "x.yaml", "--no-such-flag")]
    [InlineData("train", "--plan", "p.json", "--no-such-flag")]
    public async Task An_unknown_flag_exits_2_with_a_message_naming_it(params string[] args)
    {
        var (code, output, error) = await Cli(args);
        Assert.True(code == TrainerExitCodes.Usage, $"exit {code}\n{output}\n{error}");
        Assert.Contains("--no-such-flag", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_value_exits_2_with_a_message_naming_its_flag()
    {
        var (code, _, error) = await Cli("run", "x.yaml", "--max-steps", "zero");
        Assert.Equal(TrainerExitCodes.Usage, code);
        Assert.Contains("--max-steps", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_binary_prints_its_version_and_exits_0()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bit-trainer.dll"));
        start.ArgumentList.Add("--version");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var expected = typeof(BiT.Trainer.Program).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion.Split('+')[0];
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{await stdout}\n{await stderr}");
        Assert.StartsWith(expected, (await stdout).Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clean_empties_a_checkpoint_directory_but_keeps_it_and_refuses_the_root()
    {
        using var dir = new TempDir();
        var ckpt = Directory.CreateDirectory(dir.Combine("job")).FullName;
        File.WriteAllBytes(Path.Combine(ckpt, "step-00000004.ckpt"), new byte[2048]);
        Directory.CreateDirectory(Path.Combine(ckpt, "final", "nested"));
        File.WriteAllText(Path.Combine(ckpt, "final", "model.npz"), "weights");
        File.WriteAllText(Path.Combine(ckpt, ".hidden"), "x");
        File.WriteAllText(dir.Combine("neighbour.ckpt"), "another job's");

        var clean = await Cli("clean", "--dir", ckpt);
        Assert.Equal(0, clean.Code);
        Assert.Contains("removed 3 files", clean.Out, StringComparison.Ordinal);
        Assert.True(Directory.Exists(ckpt));
        Assert.Empty(Directory.EnumerateFileSystemEntries(ckpt));
        Assert.True(File.Exists(dir.Combine("neighbour.ckpt")));

        Assert.Equal(0, (await Cli("clean", "--dir", dir.Combine("absent"))).Code);
        Assert.Equal(TrainerExitCodes.Usage, (await Cli("clean", "--dir", "/")).Code);
        Assert.Equal(TrainerExitCodes.Usage, (await Cli("clean", "--dir", "relative/dir")).Code);
        Assert.Equal(TrainerExitCodes.Usage, (await Cli("clean")).Code);
    }

    [Fact]
    public async Task Missing_manifest_and_bad_plan_exit_4_with_a_last_line_that_says_why()
    {
        using var dir = new TempDir();
        var run = await Cli("run", dir.Combine("absent.yaml"));
        Assert.Equal(TrainerExitCodes.PermanentFailure, run.Code);
        Assert.Contains("absent.yaml", run.Err.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
        File.WriteAllText(dir.Combine("plan.json"), """{"planVersion": "bit.training/plan-v0"}""");
        var train = await Cli("train", "--plan", dir.Combine("plan.json"), "--workdir", dir.Path);
        Assert.Equal(TrainerExitCodes.PermanentFailure, train.Code);
        Assert.Contains("planVersion", train.Err.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_finishes_the_step_writes_a_checkpoint_and_exits_3()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), Manifest(100_000));
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir.Path,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "bit-trainer.dll"), "run", dir.Combine("job.yaml"), "--workdir", dir.Combine("work"), "--data-threads", "1", "--eval-every", "0" })
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            lines.Add(line);
            if (line.StartsWith("step 1/", StringComparison.Ordinal))
            {
                using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync(timeout.Token);
            }
        }
        await process.WaitForExitAsync(timeout.Token);
        var output = string.Join('\n', lines);
        Assert.True(process.ExitCode == TrainerExitCodes.CheckpointedStop, output + await stderr);
        Assert.Contains("after writing a checkpoint", output, StringComparison.Ordinal);
        var checkpoints = Directory.GetFiles(dir.Combine("work", "checkpoints"), "step-*.ckpt");
        Assert.Single(checkpoints);
        Assert.False(File.Exists(dir.Combine("work", "final", "model.npz")));
    }
}
