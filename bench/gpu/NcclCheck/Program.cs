using System.Globalization;
using System.Runtime.InteropServices;
using BiT.Distributed;

namespace BiT.Bench.NcclCheck;

/// <summary>
/// <c>NcclCheck RANK WORLD STORE_DIR COUNT</c>: joins a Gloo group through STORE_DIR, makes the NCCL communicator
/// the trainer makes (rank 0's id over Gloo), sums COUNT float32 values of device memory in place on the default
/// stream and checks every element against the exact sum. Exit 0: correct; 1: wrong values; 2: setup failed.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length != 4)
        {
            Console.Error.WriteLine("usage: NcclCheck RANK WORLD STORE_DIR COUNT");
            return 2;
        }
        var rank = int.Parse(args[0], CultureInfo.InvariantCulture);
        var world = int.Parse(args[1], CultureInfo.InvariantCulture);
        var count = int.Parse(args[3], CultureInfo.InvariantCulture);
        var nccl = Nccl.TryLoad(out var reason);
        if (nccl is null)
        {
            Console.Error.WriteLine($"rank {rank}: {reason}");
            return 2;
        }
        Cuda.Check(Cuda.cuInit(0), "cuInit");
        Cuda.Check(Cuda.cuDeviceGetCount(out var devices), "cuDeviceGetCount");
        Cuda.Check(Cuda.cuDeviceGet(out var device, rank % devices), "cuDeviceGet");
        // The primary context is the one the CUDA runtime inside NCCL (and libtorch) uses for this device.
        Cuda.Check(Cuda.cuDevicePrimaryCtxRetain(out var context, device), "cuDevicePrimaryCtxRetain");
        Cuda.Check(Cuda.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        var bytes = (nuint)(count * sizeof(float));
        Cuda.Check(Cuda.cuMemAlloc_v2(out var buffer, bytes), "cuMemAlloc");
        var host = Enumerable.Range(0, count).Select(i => (rank + 1f) * (i % 7 + 1)).ToArray();
        Cuda.Check(Cuda.cuMemcpyHtoD_v2(buffer, host, bytes), "cuMemcpyHtoD");
        using var group = ProcessGroup.Join(new RendezvousOptions { StoreDirectory = args[2], Prefix = "nccl-check", Rank = rank, WorldSize = world, Timeout = TimeSpan.FromMinutes(2) });
        using (var communicator = NcclCommunicator.Create(nccl, group))
        {
            communicator.AllReduceSum((IntPtr)(long)buffer, count, IntPtr.Zero);
            Cuda.Check(Cuda.cuCtxSynchronize(), "cuCtxSynchronize");
        }
        Cuda.Check(Cuda.cuMemcpyDtoH_v2(host, buffer, bytes), "cuMemcpyDtoH");
        Cuda.Check(Cuda.cuMemFree_v2(buffer), "cuMemFree");
        var ranksSum = world * (world + 1) / 2f;
        var wrong = Enumerable.Range(0, count).Count(i => host[i] != ranksSum * (i % 7 + 1));
        var version = nccl.Version;
        Console.WriteLine(FormattableString.Invariant($"rank {rank}/{world}: NCCL {version}, device {rank % devices} of {devices}, {count} floats, {wrong} wrong"));
        return wrong == 0 ? 0 : 1;
    }
}
