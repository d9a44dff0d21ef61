using System.Runtime.InteropServices;
using BiT.Model.Native;
using BiT.Model.Tests.TestSupport;
using static TorchSharp.torch;

namespace BiT.Model.Tests.Native;

public sealed class CpuKernelsTests
{
    private static readonly HashSet<string> Avx512NoAmx = ["fpu", "sse4_2", "avx2", "avx512f", "avx512_bf16"];
    private static readonly HashSet<string> WithAmx = ["fpu", "avx2", "avx512f", "amx_bf16", "amx_tile", "amx_int8"];

    [Fact]
    public void Auto_keeps_onednn_on_cpus_with_amx_and_turns_it_off_on_other_x86_cpus()
    {
        Assert.True(CpuKernels.Decide(null, Architecture.X64, WithAmx).OneDnn);
        Assert.True(CpuKernels.Decide("auto", Architecture.X64, WithAmx).OneDnn);
        var off = CpuKernels.Decide("", Architecture.X64, Avx512NoAmx);
        Assert.False(off.OneDnn);
        Assert.Contains("without AMX", off.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_leaves_libtorchs_default_where_the_cpu_is_unknown_or_not_x86()
    {
        Assert.True(CpuKernels.Decide(null, Architecture.Arm64, new HashSet<string> { "fp", "asimd" }).OneDnn);
        Assert.True(CpuKernels.Decide(null, Architecture.X64, null).OneDnn);
    }

    [Fact]
    public void The_environment_setting_overrides_the_cpu_and_a_bad_value_is_an_error_naming_the_variable()
    {
        Assert.True(CpuKernels.Decide("on", Architecture.X64, Avx512NoAmx).OneDnn);
        Assert.False(CpuKernels.Decide("OFF", Architecture.X64, WithAmx).OneDnn);
        var e = Assert.Throws<ArgumentException>(() => CpuKernels.Decide("fast", Architecture.X64, WithAmx));
        Assert.Contains("BIT_ONEDNN must be on, off or auto, got 'fast'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cpu_flags_are_read_from_the_flags_line_of_cpuinfo()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "cpuinfo");
        File.WriteAllText(path, "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu avx2 avx512f\nbugs\t\t: sysret_ss_attrs\n\nprocessor\t: 1\nflags\t\t: other\n");
        var flags = CpuKernels.ReadCpuFlags(path);
        Assert.NotNull(flags);
        Assert.Equal(new[] { "avx2", "avx512f", "fpu" }, flags!.Order(StringComparer.Ordinal));
        Assert.Null(CpuKernels.ReadCpuFlags(Path.Combine(dir.Path, "missing")));
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
    public void Building_a_convolution_applies_the_choice_for_this_cpu()
    {
        using var conv = new StdConv2d(4, 4, 1);
        var applied = CpuKernels.Applied;
        Assert.NotNull(applied);
        var expected = CpuKernels.Decide(Environment.GetEnvironmentVariable(CpuKernels.EnvironmentVariable), RuntimeInformation.ProcessArchitecture, CpuKernels.ReadCpuFlags());
        Assert.Equal(expected.OneDnn, applied!.OneDnn);
        Assert.Equal(applied.OneDnn, BackendSwitches.OneDnn);
        if (!applied.OneDnn)
        {
            Assert.False(BackendSwitches.Nnpack);
        }
    }

    [Fact]
    public void With_the_choice_applied_a_strided_projections_input_gradient_matches_float64()
    {
        // The kind of convolution whose backward oneDNN failed on (a strided 1x1 projection onto a 2x2 map, the last
        // stage of a small network): whichever kernels were chosen, float32 agrees with float64 (native kernels).
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
