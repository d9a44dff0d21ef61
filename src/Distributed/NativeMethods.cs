using System.Runtime.InteropServices;

namespace BiT.Distributed;

/// <summary>The C API of libbitdist.so (native/bitdist.cpp). Every call returns 0 or -1 with a message in last_error.</summary>
internal static partial class NativeMethods
{
    private const string Library = "bitdist";

    [LibraryImport(Library, EntryPoint = "bitdist_version")]
    internal static partial int Version();

    [LibraryImport(Library, EntryPoint = "bitdist_last_error")]
    internal static partial IntPtr LastError();

    [LibraryImport(Library, EntryPoint = "bitdist_init", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Init(string storeDirectory, string prefix, string host, int rank, int size, int timeoutMilliseconds, out IntPtr group);

    [LibraryImport(Library, EntryPoint = "bitdist_init_tcp", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int InitTcp(string masterAddress, int masterPort, string prefix, string host, int rank, int size, int timeoutMilliseconds, out IntPtr group);

    [LibraryImport(Library, EntryPoint = "bitdist_allreduce_sum_f32")]
    internal static unsafe partial int AllReduceSumF32(IntPtr group, float* data, long count);

    [LibraryImport(Library, EntryPoint = "bitdist_broadcast")]
    internal static unsafe partial int Broadcast(IntPtr group, byte* data, long bytes, int root);

    [LibraryImport(Library, EntryPoint = "bitdist_barrier")]
    internal static partial int Barrier(IntPtr group);

    [LibraryImport(Library, EntryPoint = "bitdist_destroy")]
    internal static partial void Destroy(IntPtr group);

    internal static string LastErrorMessage() => Marshal.PtrToStringUTF8(LastError()) is { Length: > 0 } m ? m : "unknown error";
}
