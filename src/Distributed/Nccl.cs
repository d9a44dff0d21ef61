using System.Globalization;
using System.Runtime.InteropServices;

namespace BiT.Distributed;

/// <summary>
/// NCCL's C API (<c>libnccl.so.2</c>, which CUDA images and the PyTorch wheels ship), bound at run time: nothing is
/// loaded until <see cref="TryLoad"/> is called, and where the library (or one of its functions) is absent it says
/// so in a sentence instead of failing later. Communicators are made by <see cref="NcclCommunicator"/>.
/// No GPU is available where this was written: only loading, the absence path and the call shapes are tested here
/// (docs/distributed.md).
/// </summary>
public sealed unsafe class Nccl
{
    public const string LibraryName = "libnccl.so.2";

    /// <summary><c>ncclFloat32</c> in <c>ncclDataType_t</c>.</summary>
    public const int Float32 = 7;

    /// <summary><c>ncclSum</c> in <c>ncclRedOp_t</c>.</summary>
    public const int Sum = 0;

    private readonly delegate* unmanaged<int*, int> getVersion;
    private readonly delegate* unmanaged<NcclUniqueId*, int> getUniqueId;
    private readonly delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int> commInitRank;
    private readonly delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int> allReduce;
    private readonly delegate* unmanaged<IntPtr, int> commDestroy;
    private readonly delegate* unmanaged<int, IntPtr> getErrorString;

    private Nccl(IntPtr library)
    {
        getVersion = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(library, "ncclGetVersion");
        getUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)NativeLibrary.GetExport(library, "ncclGetUniqueId");
        commInitRank = (delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int>)NativeLibrary.GetExport(library, "ncclCommInitRank");
        allReduce = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)NativeLibrary.GetExport(library, "ncclAllReduce");
        commDestroy = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(library, "ncclCommDestroy");
        getErrorString = (delegate* unmanaged<int, IntPtr>)NativeLibrary.GetExport(library, "ncclGetErrorString");
    }

    /// <summary>
    /// Loads NCCL from <paramref name="path"/> (default: <see cref="LibraryName"/> on the loader's path). Returns null
    /// with <paramref name="reason"/> saying what is missing when the library or one of the functions is not there.
    /// </summary>
    public static Nccl? TryLoad(out string reason, string? path = null)
    {
        var name = path ?? LibraryName;
        if (!NativeLibrary.TryLoad(name, out var library))
        {
            reason = $"NCCL is not present: {name} cannot be loaded (it ships with CUDA images and PyTorch's CUDA wheels)";
            return null;
        }
        try
        {
            var nccl = new Nccl(library);
            reason = "";
            return nccl;
        }
        catch (EntryPointNotFoundException e)
        {
            NativeLibrary.Free(library);
            reason = $"{name} is not NCCL's library: {e.Message}";
            return null;
        }
    }

    /// <summary>NCCL's version code (e.g. 21903 for 2.19.3).</summary>
    public int Version
    {
        get
        {
            int version;
            Check(getVersion(&version), "ncclGetVersion");
            return version;
        }
    }

    /// <summary>A fresh id; rank 0 makes it and every rank passes the same one to <see cref="InitRank"/>.</summary>
    public NcclUniqueId UniqueId()
    {
        NcclUniqueId id;
        Check(getUniqueId(&id), "ncclGetUniqueId");
        return id;
    }

    /// <summary>ncclCommInitRank on the current CUDA device (the caller selects it); blocks until all ranks joined.</summary>
    public IntPtr InitRank(int worldSize, NcclUniqueId id, int rank)
    {
        IntPtr comm;
        Check(commInitRank(&comm, worldSize, id, rank), "ncclCommInitRank");
        return comm;
    }

    /// <summary>Enqueues a float32 sum all-reduce of <paramref name="count"/> elements of device memory on <paramref name="stream"/> (0: the default stream).</summary>
    public void AllReduceSumFloat32(IntPtr send, IntPtr receive, long count, IntPtr comm, IntPtr stream) =>
        Check(allReduce(send, receive, (nuint)count, Float32, Sum, comm, stream), "ncclAllReduce");

    public void Destroy(IntPtr comm) => Check(commDestroy(comm), "ncclCommDestroy");

    private void Check(int result, string call)
    {
        if (result != 0)
        {
            var message = Marshal.PtrToStringUTF8(getErrorString(result)) ?? "unknown";
            throw new CollectiveException(string.Create(CultureInfo.InvariantCulture, $"{call} failed with NCCL result {result}: {message}"));
        }
    }
}
