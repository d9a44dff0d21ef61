using System.Runtime.InteropServices;

namespace BiT.Model.Native;

/// <summary>Which CPU convolution kernels libtorch uses, and why.</summary>
public sealed record CpuKernelChoice(bool OneDnn, string Reason);

/// <summary>
/// Chooses libtorch's CPU convolution kernels before the first convolution runs.
/// <para>
/// libtorch 2.10's oneDNN divides by zero (SIGFPE, which kills the process) while it chooses the blocking of a
/// brgemm backward-data convolution for a 1x1 convolution over a small feature map (seen: 64x512x2x2 -> 256 channels,
/// the last stage of a small network), on AVX-512 and on AVX2 (tried with DNNL_MAX_CPU_ISA). On CPUs with AMX
/// oneDNN prefers its AMX kernels, and the whole suite and every benchmark ran there without fault. So by default
/// (<c>auto</c>) oneDNN stays on where the CPU has AMX and is turned off elsewhere on x86-64, where convolutions
/// then run PyTorch's native kernels (im2col + BLAS; NNPACK is turned off with oneDNN, as it declines such CPUs
/// anyway with a warning per thread): slower, never fatal. <c>BIT_ONEDNN=on|off|auto</c> overrides.
/// </para>
/// </summary>
public static class CpuKernels
{
    /// <summary>The environment variable that overrides the choice: on, off or auto.</summary>
    public const string EnvironmentVariable = "BIT_ONEDNN";

    private static readonly Lock Gate = new();
    private static CpuKernelChoice? _applied;

    /// <summary>The choice this process made, once <see cref="EnsureConfigured"/> has run.</summary>
    public static CpuKernelChoice? Applied
    {
        get
        {
            lock (Gate)
            {
                return _applied;
            }
        }
    }

    /// <summary>
    /// The choice for a setting (<c>on</c>, <c>off</c>, <c>auto</c> or nothing), the architecture and the CPU's
    /// feature flags (<c>/proc/cpuinfo</c>'s <c>flags</c>; null when unknown).
    /// </summary>
    public static CpuKernelChoice Decide(string? setting, Architecture architecture, IReadOnlySet<string>? cpuFlags)
    {
        switch (setting?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto":
                break;
            case "on" or "1" or "true":
                return new CpuKernelChoice(true, $"{EnvironmentVariable}={setting}");
            case "off" or "0" or "false":
                return new CpuKernelChoice(false, $"{EnvironmentVariable}={setting}");
            default:
                throw new ArgumentException($"{EnvironmentVariable} must be on, off or auto, got '{setting}'", nameof(setting));
        }
        if (architecture != Architecture.X64 || cpuFlags is null)
        {
            return new CpuKernelChoice(true, "not an x86-64 CPU with known features: libtorch's default");
        }
        return cpuFlags.Contains("amx_tile")
            ? new CpuKernelChoice(true, "the CPU has AMX")
            : new CpuKernelChoice(false, "x86-64 without AMX: oneDNN's brgemm convolution backward can divide by zero here");
    }

    /// <summary>The feature flags of the first CPU in <c>/proc/cpuinfo</c> (null where there is none).</summary>
    public static IReadOnlySet<string>? ReadCpuFlags(string path = "/proc/cpuinfo")
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line[..colon].Trim() == "flags")
                {
                    return new HashSet<string>(line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>
    /// Applies the choice for this process once (the environment's setting, this CPU); later calls return the first
    /// choice. Called by the network before it builds a convolution, so every user of the model gets it.
    /// </summary>
    public static CpuKernelChoice EnsureConfigured()
    {
        lock (Gate)
        {
            if (_applied is not null)
            {
                return _applied;
            }
            var choice = Decide(Environment.GetEnvironmentVariable(EnvironmentVariable), RuntimeInformation.ProcessArchitecture, ReadCpuFlags());
            if (!BackendSwitches.IsAvailable)
            {
                choice = new CpuKernelChoice(true, "this libtorch exports no backend switches: libtorch's default");
            }
            else if (!choice.OneDnn)
            {
                BackendSwitches.OneDnn = false;
                BackendSwitches.Nnpack = false;
            }
            return _applied = choice;
        }
    }
}
