namespace BiT.Distributed;

/// <summary>
/// An NCCL communicator for CUDA buffers whose unique id travels over an existing Gloo group (rank 0 makes it and
/// broadcasts it), the way PyTorch's NCCL backend uses its store. The caller has selected this rank's CUDA device.
/// </summary>
public sealed class NcclCommunicator : IDisposable
{
    private readonly Nccl nccl;
    private IntPtr comm;

    private NcclCommunicator(Nccl nccl, IntPtr comm)
    {
        this.nccl = nccl;
        this.comm = comm;
    }

    public static NcclCommunicator Create(Nccl nccl, ProcessGroup group)
    {
        ArgumentNullException.ThrowIfNull(nccl);
        ArgumentNullException.ThrowIfNull(group);
        var id = group.Rank == 0 ? nccl.UniqueId() : default;
        group.Broadcast(id, 0);
        return new NcclCommunicator(nccl, nccl.InitRank(group.WorldSize, id, group.Rank));
    }

    /// <summary>Sums <paramref name="count"/> float32 elements of device memory in place, enqueued on <paramref name="stream"/>.</summary>
    public void AllReduceSum(IntPtr deviceBuffer, long count, IntPtr stream = default) =>
        nccl.AllReduceSumFloat32(deviceBuffer, deviceBuffer, count, Live(), stream);

    public void Dispose()
    {
        if (comm != IntPtr.Zero)
        {
            nccl.Destroy(comm);
            comm = IntPtr.Zero;
        }
    }

    private IntPtr Live() => comm != IntPtr.Zero ? comm : throw new ObjectDisposedException(nameof(NcclCommunicator));
}
