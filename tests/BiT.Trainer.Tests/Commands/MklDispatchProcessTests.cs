using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using BiT.Contracts.Plans;

namespace BiT.Trainer.Tests.Commands;

/// <summary>
/// <c>BIT_MKL_DISPATCH</c> as the real <c>bit-trainer</c> process applies it in <c>Main</c>, before libtorch loads
/// (Model/Native/MklDispatch.cs): the start-up record says which oneMKL kernels ran; a bad value is a permanent error.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class MklDispatchProcessTests
{
    private static async Task<(int Code, string Output)> Run(TempDir dir, string? dispatch)
    {
        File.WriteAllText(dir.Combine("job.yaml"), $$"""
            apiVersion: bit.training/v1alpha1
            kind: BiTFineTuneJob
            metadata: {name: mkl}
            spec:
              model: {architecture: Custom, blocks: [1, 1, 1, 1], widthFactor: 0.5}
              dataset: {format: Idx, path: {{TestPaths.FashionSubset}}, numClasses: 10}
              hyperparameters: {batchSize: 4, totalSteps: 1, precropSize: 36, cropSize: 32}
              checkpoint: {everySteps: 1000, keep: 1}
            """);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir.Path };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "bit-trainer.dll"), "run", dir.Combine("job.yaml"), "--workdir", dir.Combine("work"), "--data-threads", "1", "--eval-every", "0" })
        {
            start.ArgumentList.Add(a);
        }
        // The convolution kernels are the probe's business (its own tests).
        start.Environment["BIT_ONEDNN"] = "on";
        start.Environment.Remove("BIT_MKL_DISPATCH");
        if (dispatch is not null)
        {
            start.Environment["BIT_MKL_DISPATCH"] = dispatch;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string StartupKernels(TempDir dir) =>
        File.ReadLines(dir.Combine("work", "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Single(r => r.GetProperty("type").GetString() == "startup").GetProperty("kernels").GetString()!;

    [Fact]
    public async Task The_startup_record_names_the_onemkl_kernels_and_by_default_they_follow_the_cpus_features()
    {
        using var dir = new TempDir();
        var (code, output) = await Run(dir, null);
        Assert.True(code == 0, output);
        var kernels = StartupKernels(dir);
        Assert.Contains("matrix products: oneMKL for ", kernels, StringComparison.Ordinal);
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64 && Avx2.IsSupported)
        {
            Assert.DoesNotContain("Intel(R) Architecture processors", kernels, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Vendor_leaves_onemkls_own_choice_and_says_so()
    {
        using var dir = new TempDir();
        var (code, output) = await Run(dir, "vendor");
        Assert.True(code == 0, output);
        Assert.Contains("BIT_MKL_DISPATCH=vendor", StartupKernels(dir), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_value_is_a_permanent_error_naming_the_variable()
    {
        using var dir = new TempDir();
        var (code, output) = await Run(dir, "fast");
        Assert.Equal(TrainerExitCodes.PermanentFailure, code);
        Assert.Contains("BIT_MKL_DISPATCH must be features, vendor or auto, got 'fast'", output, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.Combine("work", "metrics.jsonl")));
    }
}
