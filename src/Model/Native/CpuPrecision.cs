using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Model.Native;

/// <summary>
/// The precision a training run computes in: <see cref="Compute"/> for the activations (float32 or bfloat16; the
/// parameters, their gradients, the optimizer and the checkpoints stay float32 either way, see
/// <see cref="BitResNet.ComputeType"/>), whether activations run channels-last, and why.
/// </summary>
public sealed record PrecisionChoice(ScalarType Compute, bool ChannelsLast, string Reason)
{
    /// <summary>"bf16" or "fp32", as logs and metrics name it.</summary>
    public string Name => Compute == ScalarType.BFloat16 ? "bf16" : "fp32";

    /// <summary>One line for the start-up log.</summary>
    public string Describe() => Compute == ScalarType.BFloat16
        ? $"precision: bf16 activations{(ChannelsLast ? " channels-last" : "")}, float32 master weights ({Reason})"
        : $"precision: fp32 ({Reason})";
}

/// <summary>
/// Chooses the compute precision of a run once, at start-up: bfloat16 activations (with channels-last layout and
/// float32 master weights) where the CPU has units that make it fast, float32 everywhere else.
/// <para>
/// Measured (docs/benchmarks.md, "Model throughput"): on a 2-vCPU Xeon with AMX-BF16, an R50x1 training step ran
/// 16.5 images/s in bf16 channels-last against 1.07 in float32 NCHW (about 15x, oneDNN's AMX kernels), as fast as
/// PyTorch in the same mode. On a 2-vCPU AMD EPYC with AVX512_BF16 but no AMX, bf16 ran 16.0-16.8 images/s against
/// float32's 18-19 (no gain: the bf16 dot products exist, the tile units do not), and without oneDNN bf16 was 9x
/// slower than float32. Hence: bf16 only where the CPU lists AMX-BF16 (and the OS enabled its tiles: Linux lists
/// <c>amx_bf16</c> in /proc/cpuinfo only then) and oneDNN is on. On a GPU <c>auto</c> keeps float32 (bf16 there is
/// unmeasured by this project); <c>BIT_PRECISION=bf16</c> asks for it anywhere.
/// </para>
/// <para>
/// bf16 changes the numbers of a run (8 bits of mantissa for activations and their gradients): the README example
/// (a small network trained from scratch) reached 71.7 % mean top-1 over eight seeds in bf16 against 72.9 % in fp32
/// (docs/trainer.md, "Precision"). Checkpoints hold float32
/// weights either way, so a run may resume in the other precision (for example after moving to a node with another
/// CPU); it then continues the same training, not the same floats.
/// </para>
/// </summary>
public static class CpuPrecision
{
    /// <summary>The environment variable that overrides the choice: auto, fp32 or bf16.</summary>
    public const string EnvironmentVariable = "BIT_PRECISION";

    /// <summary>
    /// The choice for a setting (<c>auto</c>/nothing, <c>fp32</c>, <c>bf16</c>), the device, the CPU's feature flags
    /// (as /proc/cpuinfo names them) and whether oneDNN's convolutions are on.
    /// </summary>
    /// <exception cref="ArgumentException">The setting is none of auto, fp32, bf16.</exception>
    public static PrecisionChoice Decide(string? setting, DeviceType device, IReadOnlySet<string> cpuFlags, bool oneDnn)
    {
        ArgumentNullException.ThrowIfNull(cpuFlags);
        var amx = cpuFlags.Contains("amx_bf16") && cpuFlags.Contains("amx_tile");
        switch (setting?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto":
                break;
            case "fp32" or "float32" or "float":
                return new PrecisionChoice(ScalarType.Float32, false, $"{EnvironmentVariable}={setting}");
            case "bf16" or "bfloat16":
                var note = device != DeviceType.CPU || amx ? "" : cpuFlags.Contains("avx512_bf16")
                    ? "; this CPU has AVX512_BF16 but no AMX: expect no gain over fp32"
                    : "; this CPU has no bf16 units: expect it to be several times slower than fp32";
                return new PrecisionChoice(ScalarType.BFloat16, true, $"{EnvironmentVariable}={setting}{note}");
            default:
                throw new ArgumentException($"{EnvironmentVariable} must be auto, fp32 or bf16, got '{setting}'", nameof(setting));
        }
        if (device != DeviceType.CPU)
        {
            return new PrecisionChoice(ScalarType.Float32, false, $"auto on {device}: bf16 is unmeasured there; {EnvironmentVariable}=bf16 asks for it");
        }
        if (!amx)
        {
            return new PrecisionChoice(ScalarType.Float32, false, cpuFlags.Contains("avx512_bf16")
                ? "auto: the CPU has AVX512_BF16 but no AMX, where bf16 measured no faster than fp32"
                : "auto: the CPU has no AMX-BF16");
        }
        return oneDnn
            ? new PrecisionChoice(ScalarType.BFloat16, true, "auto: the CPU has AMX-BF16, where oneDNN's bf16 kernels measured ~15x fp32")
            : new PrecisionChoice(ScalarType.Float32, false, "auto: the CPU has AMX-BF16 but oneDNN is off, and bf16 without it measured 9x slower than fp32");
    }

    /// <summary>Decides for this process: the environment's setting, this CPU's flags, the device and the oneDNN choice.</summary>
    /// <exception cref="ArgumentException">The environment variable holds none of auto, fp32, bf16.</exception>
    public static PrecisionChoice ForThisProcess(DeviceType device, bool oneDnn) =>
        Decide(Environment.GetEnvironmentVariable(EnvironmentVariable), device, CpuFlags(), oneDnn);

    /// <summary>
    /// This CPU's feature flags: the first <c>flags</c> line of /proc/cpuinfo (which lists a feature only where the
    /// kernel enabled it), else the few this class asks about from CPUID.
    /// </summary>
    public static IReadOnlySet<string> CpuFlags()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var flags = ParseFlags(File.ReadLines("/proc/cpuinfo"));
                if (flags.Count > 0)
                {
                    return flags;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Fall through to CPUID.
        }
        return CpuIdFlags();
    }

    /// <summary>The flags of the first processor in /proc/cpuinfo's lines (x86 <c>flags</c>, or Arm's <c>Features</c>).</summary>
    public static IReadOnlySet<string> ParseFlags(IEnumerable<string> cpuinfoLines)
    {
        ArgumentNullException.ThrowIfNull(cpuinfoLines);
        foreach (var line in cpuinfoLines)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }
            var name = line[..colon].Trim();
            if (name is "flags" or "Features")
            {
                return line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
            }
        }
        return new HashSet<string>(StringComparer.Ordinal);
    }

    // CPUID leaf 7: sub-leaf 0 EDX bit 22 AMX-BF16, bit 24 AMX-TILE; sub-leaf 1 EAX bit 5 AVX512_BF16. Whether the OS
    // enabled the tiles is not visible here; oneDNN checks that itself and falls back to other kernels.
    private static HashSet<string> CpuIdFlags()
    {
        var flags = new HashSet<string>(StringComparer.Ordinal);
        if (!X86Base.IsSupported || X86Base.CpuId(0, 0).Eax < 7)
        {
            return flags;
        }
        var (_, _, _, edx) = X86Base.CpuId(7, 0);
        if ((edx & (1 << 22)) != 0)
        {
            flags.Add("amx_bf16");
        }
        if ((edx & (1 << 24)) != 0)
        {
            flags.Add("amx_tile");
        }
        if ((X86Base.CpuId(7, 1).Eax & (1 << 5)) != 0)
        {
            flags.Add("avx512_bf16");
        }
        return flags;
    }
}
