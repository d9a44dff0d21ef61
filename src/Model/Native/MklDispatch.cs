using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace BiT.Model.Native;

/// <summary>What <see cref="MklDispatch.Apply"/> did, and why.</summary>
/// <param name="ByFeatures">Whether oneMKL was set to choose its kernels by the CPU's features (the shim loaded).</param>
/// <param name="Reason">One line for the start-up log.</param>
public sealed record MklDispatchChoice(bool ByFeatures, string Reason);

/// <summary>
/// Lets oneMKL (linked into libtorch's CPU build) choose its kernels by the CPU's instruction sets on x86-64 CPUs of
/// other vendors than Intel, where it otherwise takes a generic code path.
/// <para>
/// oneMKL runs libtorch's float matrix products on the CPU, which in this trainer are every 1x1 convolution of the
/// network (<see cref="StdConv2d"/>) and the head. Its dispatcher selects the AVX2/AVX-512 kernels only on CPUs whose
/// vendor is GenuineIntel; on an AMD EPYC with AVX-512 it reported "Intel(R) Architecture processors" and ran R50x1's
/// 1x1 convolutions (forward + backward) in 476 ms of CPU per batch of 8 at 128 px, against 230 ms with its AVX-512
/// kernels (bench/LayerProfile, docs/benchmarks.md). <c>libbitmkl.so</c> (<c>Native/mkl/bitmkl.c</c>, built with the
/// project) answers oneMKL's two vendor-check functions with "Intel"; loaded with <c>RTLD_GLOBAL</c> before libtorch,
/// it is found before libtorch's own definitions, as an <c>LD_PRELOAD</c> would be. oneMKL still checks every
/// instruction set it uses against the CPU's feature flags, so an AVX2-only CPU gets its AVX2 kernels.
/// </para>
/// <para>
/// <c>BIT_MKL_DISPATCH=features|vendor|auto</c>: <c>vendor</c> leaves oneMKL's own choice, <c>features</c> loads the shim
/// on any x86-64 CPU, <c>auto</c> (the default) on x86-64 CPUs that are not Intel's. It must run before libtorch is
/// loaded (first thing in <c>Main</c>); later it changes nothing and says so.
/// </para>
/// </summary>
public static partial class MklDispatch
{
    /// <summary>The environment variable that overrides the choice.</summary>
    public const string EnvironmentVariable = "BIT_MKL_DISPATCH";

    /// <summary>The shim's file name, next to the application's assemblies.</summary>
    public const string ShimFileName = "libbitmkl.so";

    private const int RtldLazy = 0x1;
    private const int RtldNow = 0x2;
    private const int RtldGlobal = 0x100;
    private const int RtldNoload = 0x4;

    private static readonly Lock Gate = new();
    private static MklDispatchChoice? _applied;

    /// <summary>The choice this process made, once <see cref="Apply"/> has run; null before.</summary>
    public static MklDispatchChoice? Applied
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
    /// Whether to load the shim, from the setting (<c>features</c>, <c>vendor</c>, <c>auto</c> or nothing), the
    /// process architecture, the CPU's vendor string and whether libtorch is already loaded.
    /// </summary>
    /// <exception cref="ArgumentException">The setting is none of features, vendor, auto.</exception>
    public static MklDispatchChoice Decide(string? setting, Architecture architecture, string vendor, bool libtorchLoaded)
    {
        bool? forced = setting?.Trim().ToLowerInvariant() switch
        {
            null or "" or "auto" => null,
            "features" => true,
            "vendor" => false,
            _ => throw new ArgumentException($"{EnvironmentVariable} must be features, vendor or auto, got '{setting}'", nameof(setting)),
        };
        if (forced == false)
        {
            return new MklDispatchChoice(false, $"{EnvironmentVariable}={setting}: oneMKL's own vendor check");
        }
        if (architecture != Architecture.X64)
        {
            return new MklDispatchChoice(false, "not an x86-64 CPU: oneMKL's default");
        }
        if (forced is null && vendor == "GenuineIntel")
        {
            return new MklDispatchChoice(false, "an Intel CPU: oneMKL dispatches by its features already");
        }
        if (libtorchLoaded)
        {
            return new MklDispatchChoice(false, "libtorch was loaded before the dispatch could be set: oneMKL's own vendor check");
        }
        return new MklDispatchChoice(true, forced == true
            ? $"{EnvironmentVariable}={setting}"
            : $"CPU vendor {(vendor.Length == 0 ? "unknown" : vendor)}: kernels by the CPU's features, not its vendor");
    }

    /// <summary>
    /// Decides for this process and loads the shim, once; later calls return the first choice. Call it first thing in
    /// <c>Main</c>, before anything loads libtorch. Never throws for a missing or unloadable shim: the choice says so
    /// and oneMKL keeps its own dispatch.
    /// </summary>
    /// <exception cref="ArgumentException">The environment's setting is invalid.</exception>
    public static MklDispatchChoice Apply()
    {
        lock (Gate)
        {
            if (_applied is not null)
            {
                return _applied;
            }
            if (!OperatingSystem.IsLinux())
            {
                return _applied = new MklDispatchChoice(false, "not Linux: oneMKL's default");
            }
            var choice = Decide(Environment.GetEnvironmentVariable(EnvironmentVariable), RuntimeInformation.ProcessArchitecture, CpuVendor(), LibtorchLoaded());
            if (choice.ByFeatures)
            {
                var shim = Path.Combine(AppContext.BaseDirectory, ShimFileName);
                if (!File.Exists(shim))
                {
                    choice = new MklDispatchChoice(false, $"{ShimFileName} is missing next to the application (built only where a C compiler was found): oneMKL's own vendor check");
                }
                else
                {
                    try
                    {
                        if (dlopen(shim, RtldNow | RtldGlobal) == IntPtr.Zero)
                        {
                            choice = new MklDispatchChoice(false, $"{ShimFileName} could not be loaded ({Marshal.PtrToStringUTF8(dlerror())}): oneMKL's own vendor check");
                        }
                    }
                    catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
                    {
                        // A C library without dlopen in libc (glibc before 2.34 keeps it in libdl): a speed-up lost, no more.
                        choice = new MklDispatchChoice(false, $"no dlopen in this C library ({e.GetType().Name}): oneMKL's own vendor check");
                    }
                }
            }
            return _applied = choice;
        }
    }

    /// <summary>
    /// oneMKL's own description of the kernels it chose (e.g. "Intel(R) Advanced Vector Extensions 512 ..." or
    /// "Intel(R) Architecture processors" for its generic path), read from the loaded libtorch; null where libtorch
    /// is not loaded or carries no oneMKL. Reading it makes oneMKL settle its choice, so call it after <see cref="Apply"/>.
    /// </summary>
    public static string? KernelDescription()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        if (!LibtorchLoaded())
        {
            return null;
        }
        var library = dlopen("libtorch_cpu.so", RtldLazy | RtldNoload);
        if (library == IntPtr.Zero || !NativeLibrary.TryGetExport(library, "mkl_serv_get_version", out var address))
        {
            return null;
        }
        unsafe
        {
            MklVersion version;
            ((delegate* unmanaged<MklVersion*, void>)address)(&version);
            return Marshal.PtrToStringUTF8(version.Processor);
        }
    }

    /// <summary>The CPU's vendor string (CPUID leaf 0: GenuineIntel, AuthenticAMD, ...); empty off x86.</summary>
    public static string CpuVendor()
    {
        if (!X86Base.IsSupported)
        {
            return "";
        }
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        var bytes = new byte[12];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 4), ebx);
        BitConverter.TryWriteBytes(bytes.AsSpan(4, 4), edx);
        BitConverter.TryWriteBytes(bytes.AsSpan(8, 4), ecx);
        return Encoding.ASCII.GetString(bytes);
    }

    /// <summary>Whether this process has libtorch_cpu mapped already (then the shim would come too late).</summary>
    public static bool LibtorchLoaded()
    {
        try
        {
            return OperatingSystem.IsLinux() && dlopen("libtorch_cpu.so", RtldLazy | RtldNoload) != IntPtr.Zero;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    // MKLVersion of mkl_types.h: three ints, then four C strings.
    [StructLayout(LayoutKind.Sequential)]
    private struct MklVersion
    {
        public int Major;
        public int Minor;
        public int Update;
        public IntPtr ProductStatus;
        public IntPtr Build;
        public IntPtr Processor;
        public IntPtr Platform;
    }

    [LibraryImport("libc", EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr dlopen(string file, int mode);

    [LibraryImport("libc", EntryPoint = "dlerror")]
    private static partial IntPtr dlerror();
}
