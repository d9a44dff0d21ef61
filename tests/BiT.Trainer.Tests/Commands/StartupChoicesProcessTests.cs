using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using BiT.Contracts.Plans;

namespace BiT.Trainer.Tests.Commands;

/// <summary>
/// The start-up choices the real <c>bit-trainer</c> process makes from its environment, as a tiny run records them:
/// <c>BIT_MKL_DISPATCH</c>, applied in <c>Main</c> before libtorch loads (Model/Native/MklDispatch.cs), and
/// <c>BIT_PRECISION</c> (Model/Native/CpuPrecision.cs). The start-up record says what ran; a bad value is a
/// permanent error naming the variable.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class StartupChoicesProcessTests
{
    private static async Task<(int Code, string Output)> Run(TempDir dir, string? dispatch, string? precision = null)
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
        start.Environment.Remove("BIT_PRECISION");
        if (precision is not null)
        {
            start.Environment["BIT_PRECISION"] = precision;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static JsonElement Startup(TempDir dir) =>
        File.ReadLines(dir.Combine("work", "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Single(r => r.GetProperty("type").GetString() == "startup");

    private static string StartupKernels(TempDir dir) => Startup(dir).GetProperty("kernels").GetString()!;

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

    [Fact]
    public async Task Auto_precision_follows_the_cpu_and_the_record_and_log_say_which()
    {
        using var dir = new TempDir();
        var (code, output) = await Run(dir, null);
        Assert.True(code == 0, output);
        var flags = BiT.Model.Native.CpuPrecision.CpuFlags();
        var expected = flags.Contains("amx_bf16") && flags.Contains("amx_tile") ? "bf16" : "fp32";
        Assert.Equal(expected, Startup(dir).GetProperty("precision").GetString());
        Assert.Contains($"precision: {expected}", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bf16_trains_and_evaluates_and_keeps_float32_weights_in_the_final_model()
    {
        using var dir = new TempDir();
        var (code, output) = await Run(dir, null, "bf16");
        Assert.True(code == 0, output);
        Assert.Equal("bf16", Startup(dir).GetProperty("precision").GetString());
        Assert.Contains("precision: bf16 activations channels-last, float32 master weights (BIT_PRECISION=bf16", output, StringComparison.Ordinal);
        var records = File.ReadLines(dir.Combine("work", "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(double.IsFinite(records.Single(r => r.GetProperty("type").GetString() == "train").GetProperty("loss").GetDouble()));
        var top1 = records.Last(r => r.GetProperty("type").GetString() == "eval").GetProperty("top1").GetDouble();
        Assert.InRange(top1, 0.0, 1.0);
        // The weights are float32 (the master copy), whatever the activations ran in: npz arrays of '<f4'.
        using var final = System.IO.Compression.ZipFile.OpenRead(dir.Combine("work", "final", "model.npz"));
        Assert.NotEmpty(final.Entries);
        foreach (var entry in final.Entries)
        {
            using var stream = entry.Open();
            var header = new byte[128];
            stream.ReadExactly(header);
            Assert.Contains("'descr': '<f4'", System.Text.Encoding.ASCII.GetString(header), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_bad_precision_is_a_permanent_error_naming_the_variable()
    {
        using var dir = new TempDir();
        var (code, output) = await Run(dir, null, "fp16");
        Assert.Equal(TrainerExitCodes.PermanentFailure, code);
        Assert.Contains("BIT_PRECISION must be auto, fp32 or bf16, got 'fp16'", output, StringComparison.Ordinal);
    }
}
