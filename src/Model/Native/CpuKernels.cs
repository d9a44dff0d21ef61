using System.Runtime.InteropServices;

namespace BiT.Model.Native;

/// <summary>Which CPU convolution kernels libtorch uses, and why.</summary>
public sealed record CpuKernelChoice(bool OneDnn, string Reason);

/// <summary>
/// Chooses libtorch's CPU convolution kernels once, at start-up, before the first convolution runs.
/// <para>
/// libtorch 2.10's oneDNN divides by zero (SIGFPE, which kills the process) in
/// <c>brgemm_convolution_bwd_utils::brg_blocking_t::est_eff_1x1</c>: for the backward-data pass of a 1x1 convolution
/// whose spatial rows are fewer than its register block (<c>div_up(M + M_tail, 16) / (M / ur_block + M_tail /
/// ur_block_tail)</c> with both quotients 0), which the last stages of a network reach on small maps. It is reached
/// on AVX-512 and AVX2 CPUs without AMX (any <c>ONEDNN_MAX_CPU_ISA</c> above SSE4.1). <see cref="StdConv2d"/> runs
/// every 1x1 convolution on the CPU as a matrix product instead (the same arithmetic), so that code is never
/// reached, and oneDNN keeps the 3x3 and 7x7 convolutions, where it is several times faster than PyTorch's native
/// kernels. Whether oneDNN really survives on this CPU is asked of a child process (<see cref="KernelProbe"/>),
/// which runs a training step over the smallest maps: if the child dies, this process turns oneDNN off (native
/// kernels: slower, never fatal) and goes on. <c>BIT_ONEDNN=on|off|auto</c> overrides.
/// </para>
/// </summary>
public static class CpuKernels
{
    /// <summary>The environment variable that overrides the choice: on, off or auto.</summary>
    public const string EnvironmentVariable = "BIT_ONEDNN";

    private static readonly Lock Gate = new();
    private static CpuKernelChoice? _applied;

    /// <summary>The choice this process made, once <see cref="Configure"/> has run; null before.</summary>
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
    /// The choice for a setting (<c>on</c>, <c>off</c>, <c>auto</c> or nothing), the architecture, and a probe of
    /// oneDNN on this CPU (null where the host cannot run one; see <see cref="KernelProbe"/>). Only <c>auto</c> on
    /// x86-64 runs the probe.
    /// </summary>
    /// <exception cref="ArgumentException">The setting is none of on, off, auto.</exception>
    public static CpuKernelChoice Decide(string? setting, Architecture architecture, Func<KernelProbeResult>? probe)
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
        if (architecture != Architecture.X64)
        {
            return new CpuKernelChoice(true, "not an x86-64 CPU: libtorch's default");
        }
        if (probe is null)
        {
            return new CpuKernelChoice(true, "no probe in this host; 1x1 convolutions run as matrix products, away from oneDNN's faulting 1x1 backward");
        }
        var result = probe();
        return result.Passed
            ? new CpuKernelChoice(true, $"a training step over small maps passed in a child process ({result.Detail})")
            : new CpuKernelChoice(false, $"oneDNN failed in a child process: {result.Detail}");
    }

    /// <summary>
    /// Decides for this process (the environment's setting, this CPU, the probe) and sets libtorch's switches, once;
    /// later calls return the first choice. Hosts call it at start-up, before building or running a network.
    /// </summary>
    public static CpuKernelChoice Configure(Func<KernelProbeResult>? probe)
    {
        lock (Gate)
        {
            if (_applied is not null)
            {
                return _applied;
            }
            NativeHeap.Configure();
            var choice = Decide(Environment.GetEnvironmentVariable(EnvironmentVariable), RuntimeInformation.ProcessArchitecture, probe);
            if (!BackendSwitches.IsAvailable)
            {
                choice = new CpuKernelChoice(true, "this libtorch exports no backend switches: libtorch's default");
            }
            else
            {
                BackendSwitches.OneDnn = choice.OneDnn;
                // NNPACK declines AVX-512 CPUs with a warning per thread; with oneDNN off it is the only other path.
                if (!choice.OneDnn)
                {
                    BackendSwitches.Nnpack = false;
                }
            }
            return _applied = choice;
        }
    }
}
