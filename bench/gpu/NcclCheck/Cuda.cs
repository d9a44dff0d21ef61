using System.Runtime.InteropServices;

namespace BiT.Bench.NcclCheck;

/// <summary>The few CUDA driver API calls the check needs (libcuda.so.1 ships with the GPU driver).</summary>
internal static class Cuda
{
    private const string Library = "libcuda.so.1";

    public static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"{call} failed with CUDA driver result {result}");
        }
    }

    [DllImport(Library)]
    public static extern int cuInit(uint flags);

    [DllImport(Library)]
    public static extern int cuDeviceGetCount(out int count);

    [DllImport(Library)]
    public static extern int cuDeviceGet(out int device, int ordinal);

    [DllImport(Library)]
    public static extern int cuDevicePrimaryCtxRetain(out IntPtr context, int device);

    [DllImport(Library)]
    public static extern int cuCtxSetCurrent(IntPtr context);

    [DllImport(Library)]
    public static extern int cuCtxSynchronize();

    [DllImport(Library)]
    public static extern int cuMemAlloc_v2(out ulong pointer, nuint bytes);

    [DllImport(Library)]
    public static extern int cuMemFree_v2(ulong pointer);

    [DllImport(Library)]
    public static extern int cuMemcpyHtoD_v2(ulong destination, float[] source, nuint bytes);

    [DllImport(Library)]
    public static extern int cuMemcpyDtoH_v2(float[] destination, ulong source, nuint bytes);
}
