using BiT.Model.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Model.Tests.Native;

public sealed class CpuPrecisionTests
{
    private static readonly HashSet<string> Avx512Bf16NoAmx = ["fpu", "sse4_2", "avx2", "avx512f", "avx512_bf16"];
    private static readonly HashSet<string> WithAmx = ["fpu", "avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "amx_int8"];
    private static readonly HashSet<string> Avx2Only = ["fpu", "sse4_2", "avx2", "fma"];

    [Fact]
    public void Auto_chooses_bf16_channels_last_only_on_a_cpu_with_amx_and_onednn_on()
    {
        var amx = CpuPrecision.Decide(null, DeviceType.CPU, WithAmx, oneDnn: true);
        Assert.Equal(ScalarType.BFloat16, amx.Compute);
        Assert.True(amx.ChannelsLast);
        Assert.Equal("bf16", amx.Name);
        Assert.Contains("AMX-BF16", amx.Reason, StringComparison.Ordinal);

        var noAmx = CpuPrecision.Decide("auto", DeviceType.CPU, Avx512Bf16NoAmx, oneDnn: true);
        Assert.Equal(ScalarType.Float32, noAmx.Compute);
        Assert.False(noAmx.ChannelsLast);
        Assert.Contains("AVX512_BF16 but no AMX", noAmx.Reason, StringComparison.Ordinal);

        Assert.Equal(ScalarType.Float32, CpuPrecision.Decide("", DeviceType.CPU, Avx2Only, oneDnn: true).Compute);
        // AMX's kernels are oneDNN's: with oneDNN off (the probe failed, or BIT_ONEDNN=off) bf16 would be slow.
        var off = CpuPrecision.Decide(null, DeviceType.CPU, WithAmx, oneDnn: false);
        Assert.Equal(ScalarType.Float32, off.Compute);
        Assert.Contains("oneDNN is off", off.Reason, StringComparison.Ordinal);
        // AMX-BF16 without the tile flag (a kernel that did not enable the tile state) is not enough.
        Assert.Equal(ScalarType.Float32, CpuPrecision.Decide(null, DeviceType.CPU, new HashSet<string> { "avx512f", "amx_bf16" }, oneDnn: true).Compute);
    }

    [Fact]
    public void Auto_on_a_gpu_stays_fp32_and_an_explicit_setting_wins_everywhere()
    {
        Assert.Equal(ScalarType.Float32, CpuPrecision.Decide(null, DeviceType.CUDA, WithAmx, oneDnn: false).Compute);
        Assert.Equal(ScalarType.BFloat16, CpuPrecision.Decide("bf16", DeviceType.CUDA, Avx2Only, oneDnn: false).Compute);
        Assert.Equal(ScalarType.Float32, CpuPrecision.Decide("FP32", DeviceType.CPU, WithAmx, oneDnn: true).Compute);

        var slow = CpuPrecision.Decide(" bfloat16 ", DeviceType.CPU, Avx2Only, oneDnn: true);
        Assert.Equal(ScalarType.BFloat16, slow.Compute);
        Assert.Contains("no bf16 units", slow.Reason, StringComparison.Ordinal);
        Assert.Contains("no gain", CpuPrecision.Decide("bf16", DeviceType.CPU, Avx512Bf16NoAmx, oneDnn: true).Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("expect", CpuPrecision.Decide("bf16", DeviceType.CPU, WithAmx, oneDnn: true).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_kernel_probe_tries_bf16_where_auto_would_choose_it_and_only_there()
    {
        var amx = KernelProbe.Steps(WithAmx);
        Assert.Contains(amx, s => s.Compute == ScalarType.BFloat16 && s.ChannelsLast && s.Architecture == "R50x1");
        Assert.DoesNotContain(KernelProbe.Steps(Avx512Bf16NoAmx), s => s.Compute == ScalarType.BFloat16);
        // The float32 steps (small maps, both layouts) run everywhere.
        Assert.Equal(KernelProbe.Steps(Avx2Only), amx.Where(s => s.Compute == ScalarType.Float32));
    }

    [Fact]
    public void A_bad_setting_is_an_error_naming_the_variable_and_the_values()
    {
        var e = Assert.Throws<ArgumentException>(() => CpuPrecision.Decide("fp16", DeviceType.CPU, WithAmx, oneDnn: true));
        Assert.Contains("BIT_PRECISION must be auto, fp32 or bf16, got 'fp16'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_log_line_says_what_stays_float32()
    {
        Assert.Equal("precision: bf16 activations channels-last, float32 master weights (why)", new PrecisionChoice(ScalarType.BFloat16, true, "why").Describe());
        Assert.Equal("precision: fp32 (why)", new PrecisionChoice(ScalarType.Float32, false, "why").Describe());
    }

    [Fact]
    public void Flags_come_from_the_first_processor_of_cpuinfo()
    {
        string[] cpuinfo =
        [
            "processor\t: 0",
            "vendor_id\t: GenuineIntel",
            "model name\t: Intel(R) Xeon(R) Platinum 8480+",
            "flags\t\t: fpu vme avx512f avx512_bf16 amx_bf16 amx_tile amx_int8",
            "",
            "processor\t: 1",
            "flags\t\t: fpu",
        ];
        var flags = CpuPrecision.ParseFlags(cpuinfo);
        Assert.Contains("amx_tile", flags);
        Assert.Contains("fpu", flags);
        Assert.Equal(7, flags.Count);
        Assert.Equal(ScalarType.BFloat16, CpuPrecision.Decide(null, DeviceType.CPU, flags, oneDnn: true).Compute);

        Assert.Contains("asimd", CpuPrecision.ParseFlags(["Features\t: fp asimd evtstrm bf16"]));
        Assert.Empty(CpuPrecision.ParseFlags(["processor\t: 0", "garbage without a colon"]));
    }

    [Fact]
    public void This_machines_flags_are_read_and_decide_without_error()
    {
        var flags = CpuPrecision.CpuFlags();
        if (File.Exists("/proc/cpuinfo") && System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            Assert.Contains("avx2", flags);
        }
        var choice = CpuPrecision.Decide(null, DeviceType.CPU, flags, oneDnn: true);
        Assert.Equal(flags.Contains("amx_bf16") && flags.Contains("amx_tile") ? ScalarType.BFloat16 : ScalarType.Float32, choice.Compute);
    }

    /// <summary>
    /// What bf16 compute does to a training step: the gradients point nearly the same way as float32's (they are
    /// float32 tensors computed from bf16 activations), and a few SGD steps lower the loss as they do in float32.
    /// </summary>
    [Fact]
    public void A_bf16_channels_last_step_follows_the_fp32_gradient_and_trains()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        using var model = BitResNet.Create(BitArchitecture.Parse("R1-1-1-1x0.5"), 4, seed: 3);
        using (no_grad())
        {
            foreach (var p in model.Head.parameters())
            {
                p.copy_(randn_like(p) * 0.1);
            }
        }
        var x = rand(8, 3, 32, 32) * 2 - 1;
        var y = tensor(new long[] { 0, 1, 2, 3, 0, 1, 2, 3 });

        Tensor Gradient(ScalarType compute, bool channelsLast)
        {
            model.ComputeType = compute;
            model.ChannelsLast = channelsLast;
            model.zero_grad();
            nn.functional.cross_entropy(model.forward(x), y).backward();
            return cat(model.parameters().Select(p => p.grad!.flatten()).ToList());
        }

        var fp32 = Gradient(ScalarType.Float32, false);
        var bf16 = Gradient(ScalarType.BFloat16, true);
        Assert.Equal(ScalarType.Float32, bf16.dtype);
        var cosine = (fp32.dot(bf16) / (fp32.norm() * bf16.norm())).item<float>();
        // Measured 0.94 here (0.99 at the head, 0.93 at the root: bf16's rounding of activations and their
        // gradients adds up toward the input; computing GroupNorm in float32 changed nothing). A broken path (a
        // gradient lost at a cast, the wrong layout) lands far below.
        Assert.True(cosine > 0.9f, $"bf16's gradient is {cosine} aligned with fp32's");
        Assert.False(fp32.allclose(bf16, rtol: 0, atol: 0), "bf16 compute should round differently from float32");

        model.ComputeType = ScalarType.BFloat16;
        model.ChannelsLast = true;
        var first = nn.functional.cross_entropy(model.forward(x), y).item<float>();
        for (var i = 0; i < 5; i++)
        {
            model.zero_grad();
            nn.functional.cross_entropy(model.forward(x), y).backward();
            using (no_grad())
            {
                foreach (var p in model.parameters())
                {
                    p.sub_(p.grad! * 0.05);
                }
            }
        }
        var last = nn.functional.cross_entropy(model.forward(x), y).item<float>();
        Assert.True(last < first * 0.9f, $"5 bf16 SGD steps took the loss from {first} to {last}");
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }
}
