using System.Runtime.InteropServices;

namespace BiT.Model.Native;

/// <summary>
/// glibc malloc settings for a process that trains on the CPU, applied once at start-up.
/// <para>
/// libtorch allocates every activation and gradient with malloc and frees it within the step. With glibc's defaults
/// the freed top of each arena above 128 KiB of slack is given back to the kernel, so the next step faults the same
/// pages in again, zeroed: a training step of R50x1 at batch 8 took about 74,000 page faults (300 MB zeroed per step,
/// a third of the step's CPU time in the kernel) against 12,000 for the same step in PyTorch.
/// Keeping freed memory in the process (a trim threshold of 2 GiB) and serving blocks up to 32 MiB from the heap
/// rather than from fresh mappings halves the faults and cut the step's CPU time by about a quarter
/// (docs/benchmarks.md). The memory stays the process's own, as with any caching allocator: peak RSS is unchanged.
/// </para>
/// </summary>
public static partial class NativeHeap
{
    private const int TrimThresholdOption = -1; // M_TRIM_THRESHOLD
    private const int MmapThresholdOption = -3; // M_MMAP_THRESHOLD

    /// <summary>Freed heap memory kept before any is returned to the kernel.</summary>
    public const int TrimThresholdBytes = int.MaxValue;

    /// <summary>Blocks at least this large get their own mapping; glibc's upper limit on 64-bit.</summary>
    public const int MmapThresholdBytes = 32 * 1024 * 1024;

    private static readonly Lazy<bool> Applied = new(Apply);

    /// <summary>
    /// Applies the settings (once; later calls return the first answer). False where the C library is not glibc
    /// or refused them: the defaults stay, nothing else changes.
    /// </summary>
    public static bool Configure() => Applied.Value;

    private static bool Apply()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            // Each returns 1 on success. An explicit threshold also turns off glibc's own sliding one.
            return mallopt(TrimThresholdOption, TrimThresholdBytes) == 1 & mallopt(MmapThresholdOption, MmapThresholdBytes) == 1;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // musl and other C libraries have no mallopt.
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int option, int value);
}
