using System.Runtime.InteropServices;
using BiT.Model.Native;
using BiT.Model.Tests.TestSupport;
using static TorchSharp.torch;

namespace BiT.Model.Tests.Native;

public sealed class CpuKernelsTests
{
    private static readonly HashSet<string> Avx512NoAmx = ["fpu", "sse4_2", "avx2", "avx512f", "avx512_bf16"];
    private static readonly HashSet<string> WithAmx = ["fpu", "avx2", "avx512f", "amx_bf16", "amx_tile", "amx_int8"];

    private static readonly Func<KernelProbeResult> Passes = () => new KernelProbeResult(true, "fine");
    private static readonly Func<KernelProbeResult> Dies = () => new KernelProbeResult(false, "the child was killed by SIGFPE");

    [Fact]
    public void Auto_on_x86_follows_the_probe()
    {
        Assert.True(CpuKernels.Decide(null, Architecture.X64, Passes).OneDnn);
        Assert.True(CpuKernels.Decide("auto", Architecture.X64, Passes).OneDnn);
        var off = CpuKernels.Decide("", Architecture.X64, Dies);
        Assert.False(off.OneDnn);
        Assert.Contains("SIGFPE", off.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_without_a_probe_or_off_x86_leaves_onednn_on_and_never_probes()
    {
        var probes = 0;
        Func<KernelProbeResult> counting = () =>
        {
            probes++;
            return new KernelProbeResult(false, "x");
        };
        Assert.True(CpuKernels.Decide(null, Architecture.Arm64, counting).OneDnn);
        Assert.True(CpuKernels.Decide(null, Architecture.X64, null).OneDnn);
        Assert.Equal(0, probes);
    }

    [Fact]
    public void The_environment_setting_overrides_the_probe_and_a_bad_value_is_an_error_naming_the_variable()
    {
        Assert.True(CpuKernels.Decide("on", Architecture.X64, Dies).OneDnn);
        Assert.False(CpuKernels.Decide("OFF", Architecture.X64, Passes).OneDnn);
        var e = Assert.Throws<ArgumentException>(() => CpuKernels.Decide("fast", Architecture.X64, Passes));
        Assert.Contains("BIT_ONEDNN must be on, off or auto, got 'fast'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_backend_switches_read_back_what_was_written()
    {
        Assert.True(BackendSwitches.IsAvailable);
        var (oneDnn, nnpack) = (BackendSwitches.OneDnn, BackendSwitches.Nnpack);
        try
        {
            // Off is safe on every CPU (the native kernels); the test never turns on what the policy turned off.
            BackendSwitches.OneDnn = false;
            Assert.False(BackendSwitches.OneDnn);
            BackendSwitches.Nnpack = false;
            Assert.False(BackendSwitches.Nnpack);
        }
        finally
        {
            BackendSwitches.OneDnn = oneDnn;
            BackendSwitches.Nnpack = nnpack;
        }
        Assert.Equal(oneDnn, BackendSwitches.OneDnn);
        Assert.Equal(nnpack, BackendSwitches.Nnpack);
    }

    [Fact]
    public void Building_a_network_changes_no_process_wide_switch()
    {
        var before = (BackendSwitches.OneDnn, BackendSwitches.Nnpack);
        using var net = BitResNet.Create(BitArchitecture.Parse("R1-1-1-1x0.5"), 3);
        using var conv = new StdConv2d(4, 4, 1);
        Assert.Equal(before, (BackendSwitches.OneDnn, BackendSwitches.Nnpack));
    }

    [Fact]
    public void The_probes_child_side_passes_in_the_trainer_executable()
    {
        // The real child: bit-trainer started with BIT_KERNEL_PROBE, which runs training steps over 1x1 maps with
        // oneDNN on. A oneDNN fault on this CPU would show here as a failed probe, not a dead test host.
        var trainer = Path.Combine(AppContext.BaseDirectory, "bit-trainer.dll");
        var result = KernelProbe.InChildProcess(DotnetHost(), [trainer], TimeSpan.FromMinutes(5));
        Assert.True(result.Passed, result.Detail);
    }

    [Fact]
    public void A_child_killed_by_a_signal_or_silent_fails_the_probe_with_the_reason()
    {
        var killed = KernelProbe.InChildProcess("/bin/sh", ["-c", "kill -FPE $$"], TimeSpan.FromMinutes(1));
        Assert.False(killed.Passed);
        Assert.Contains("killed by SIGFPE", killed.Detail, StringComparison.Ordinal);

        var exited = KernelProbe.InChildProcess("/bin/sh", ["-c", "echo 'kernel probe: failed: no'; exit 1"], TimeSpan.FromMinutes(1));
        Assert.False(exited.Passed);
        Assert.Contains("exited with 1", exited.Detail, StringComparison.Ordinal);
        Assert.Contains("kernel probe: failed: no", exited.Detail, StringComparison.Ordinal);

        var silent = KernelProbe.InChildProcess("/bin/sh", ["-c", "exit 0"], TimeSpan.FromMinutes(1));
        Assert.False(silent.Passed);

        var hung = KernelProbe.InChildProcess("/bin/sh", ["-c", "sleep 30"], TimeSpan.FromSeconds(1));
        Assert.False(hung.Passed);
        Assert.Contains("no answer within 1 s", hung.Detail, StringComparison.Ordinal);
    }

    private static string DotnetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    [Fact]
    public void With_the_choice_applied_a_strided_projections_input_gradient_matches_float64()
    {
        // The kind of convolution whose backward oneDNN failed on (a strided 1x1 projection onto a 2x2 map, the last
        // stage of a small network), now a matrix product on the CPU: float32 agrees with float64 conv2d.
        random.manual_seed(3);
        using var conv = new StdConv2d(256, 512, 1, stride: 2);
        using var x = randn(64, 256, 4, 4).requires_grad_(true);
        using var y = conv.forward(x);
        using var loss = (y * y).mean();
        loss.backward();

        using var x64 = x.detach().to(float64).requires_grad_(true);
        using var w64 = StdConv2d.Standardize(conv.Weight.detach().to(float64));
        using var y64 = nn.functional.conv2d(x64, w64, null, [2, 2]);
        using var loss64 = (y64 * y64).mean();
        loss64.backward();
        var got = x.grad!.to(float64);
        var max = (got - x64.grad!).abs().max().item<double>();
        var scale = x64.grad!.abs().max().item<double>();
        Assert.True(max <= 1e-4 * scale, $"max gradient difference {max} against a scale of {scale}");
    }

    [Fact]
    public void A_small_network_on_32x32_crops_takes_a_training_step()
    {
        // The step that killed the trainer with SIGFPE inside oneDNN's strided brgemm backward-data blocking on an
        // AVX-512 CPU without AMX: the README's network (R1-1-1-1x0.5), batch 64, 32x32 crops.
        random.manual_seed(4);
        using var model = BitResNet.Create(BitArchitecture.Parse("R1-1-1-1x0.5"), 10, seed: 4);
        using var x = randn(64, 3, 32, 32);
        using var logits = model.forward(x);
        using var loss = nn.functional.cross_entropy(logits, randint(0, 10, [64], dtype: int64));
        loss.backward();
        var grads = model.parameters().Select(p => p.grad).ToList();
        Assert.All(grads, g => Assert.NotNull(g));
        Assert.All(grads, g => Assert.True(isfinite(g!).all().item<bool>()));
        Assert.Contains(grads, g => g!.abs().sum().item<float>() > 0);
    }
}
