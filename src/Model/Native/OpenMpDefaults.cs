using System.Runtime.InteropServices;

namespace BiT.Model.Native;

/// <summary>
/// The OpenMP settings the trainer prefers for libtorch's thread pool, applied before libtorch (and its libgomp)
/// is loaded, where the environment does not already choose.
/// <para>
/// libgomp's default lets a thread that reaches a barrier spin for a while before it sleeps. A training step enters
/// thousands of parallel regions, and on a shared or CPU-limited machine (a pod under a CPU limit, a node running
/// other work) the spinning thread takes the core from the thread it waits for: at load 7-9 on 2 cores a step of
/// R50x1 took 6.9-10.4 s with the default and 2.3-3.8 s with <c>OMP_WAIT_POLICY=passive</c> (PyTorch 1.13 alike:
/// 10.0-12.7 s and 2.1 s; docs/benchmarks.md). On an idle machine the difference is within noise.
/// </para>
/// </summary>
public static partial class OpenMpDefaults
{
    /// <summary>The variable libgomp reads when it is loaded.</summary>
    public const string WaitPolicyVariable = "OMP_WAIT_POLICY";

    /// <summary>
    /// Sets <c>OMP_WAIT_POLICY=PASSIVE</c> in the native environment unless it is set. Call it first thing in
    /// <c>Main</c>: libgomp reads the variable once, when libtorch loads it. Returns whether it set the variable.
    /// </summary>
    public static bool Apply()
    {
        if (!OperatingSystem.IsLinux() || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(WaitPolicyVariable)))
        {
            return false;
        }
        try
        {
            // .NET keeps its own copy of the environment on Unix; libgomp reads the C library's.
            return setenv(WaitPolicyVariable, "PASSIVE", 0) == 0;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    /// <summary>The C library's value of <paramref name="name"/> (what native code such as libgomp sees).</summary>
    public static string? NativeValue(string name) => Marshal.PtrToStringUTF8(getenv(name));

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getenv(string name);
}
