using System.Runtime.InteropServices;
using BiT.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Trainer.Training;

/// <summary>
/// Averages gradients that live on a CUDA device without leaving it: consecutive gradients are packed into one
/// preallocated float32 device bucket of up to the bucket size (a larger gradient goes alone, in a bucket grown for
/// it), the bucket is summed in place by the all-reduce (NCCL in production), divided by the world size and copied
/// back into each gradient. The all-reduce is a delegate taking the bucket's data pointer and element count, so the
/// packing runs on CPU tensors in tests with a simulated all-reduce.
/// <para>
/// Ordering: every libtorch op here and NCCL's all-reduce are issued on the device's default stream (the production
/// delegate passes stream 0, and TorchSharp never switches libtorch to another stream), so the stream itself orders
/// the all-reduce after the copies into the bucket and before the division and the copies back: no synchronisation
/// is needed, and the host does not wait for the reduction.
/// </para>
/// </summary>
public sealed class NcclGradientReducer : IDisposable
{
    private readonly Action<IntPtr, long> allReduceSum;
    private readonly IDisposable? owned;
    private Tensor? bucket;

    public NcclGradientReducer(Action<IntPtr, long> allReduceSum, int worldSize, int bucketFloats, IDisposable? owned = null)
    {
        ArgumentNullException.ThrowIfNull(allReduceSum);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketFloats, 1);
        this.allReduceSum = allReduceSum;
        this.owned = owned;
        WorldSize = worldSize;
        BucketFloats = bucketFloats;
    }

    public int WorldSize { get; }

    public int BucketFloats { get; }

    /// <summary>All-reduce calls made so far (one per bucket): what the bucketing tests count.</summary>
    public int Calls { get; private set; }

    /// <summary>
    /// The group's engine for CUDA gradients, agreed by every rank (a collective over <paramref name="group"/>: all
    /// ranks call it at the same step): an NCCL reducer when every rank loaded NCCL, else null (Gloo stays in use)
    /// with <paramref name="reason"/> saying why. The CUDA device the gradients are on must be current.
    /// </summary>
    public static NcclGradientReducer? TryCreate(ProcessGroup group, Func<(Nccl? Nccl, string Reason)> loadNccl, int bucketFloats, out string reason)
    {
        ArgumentNullException.ThrowIfNull(group);
        var engine = GradientEngine.Choose(DeviceType.CUDA, loadNccl);
        // The ranks must pick the same engine or their collectives would not pair up: one vote each.
        var votes = new[] { engine.Nccl is null ? 0f : 1f };
        group.AllReduceSum(votes);
        if (engine.Nccl is null || votes[0] < group.WorldSize)
        {
            reason = engine.Nccl is null ? engine.Description : "Gloo via host memory: NCCL did not load on every rank";
            return null;
        }
        var communicator = NcclCommunicator.Create(engine.Nccl, group);
        reason = engine.Description;
        // Stream 0: the default stream libtorch issues the bucket's copies on (see the class remarks).
        return new NcclGradientReducer((pointer, count) => communicator.AllReduceSum(pointer, count, IntPtr.Zero), group.WorldSize, bucketFloats, communicator);
    }

    /// <summary>Replaces each float32 gradient with its mean over the ranks. The gradients must share one device.</summary>
    public void Reduce(IReadOnlyList<Tensor> grads)
    {
        ArgumentNullException.ThrowIfNull(grads);
        if (grads.Count == 0)
        {
            return;
        }
        using var noGrad = torch.no_grad();
        using var world = ((double)WorldSize).ToScalar();
        long total = 0;
        long largest = 0;
        foreach (var g in grads)
        {
            total += g.numel();
            largest = Math.Max(largest, g.numel());
        }
        EnsureBucket(Math.Max(largest, Math.Min(total, BucketFloats)), grads[0].device);
        foreach (var (first, end, floats) in GradientBuckets.Consecutive(grads, BucketFloats))
        {
            long offset = 0;
            for (var k = first; k < end; k++)
            {
                var g = grads[k];
                using var slot = bucket!.narrow(0, offset, g.numel()).view(g.shape);
                slot.copy_(g);
                offset += g.numel();
            }
            allReduceSum(DataPointer(bucket!), floats);
            Calls++;
            using (var filled = bucket!.narrow(0, 0, floats))
            {
                filled.div_(world);
            }
            offset = 0;
            for (var k = first; k < end; k++)
            {
                var g = grads[k];
                using var slot = bucket!.narrow(0, offset, g.numel()).view(g.shape);
                g.copy_(slot);
                offset += g.numel();
            }
        }
    }

    public void Dispose()
    {
        bucket?.Dispose();
        bucket = null;
        owned?.Dispose();
    }

    /// <summary>
    /// The address of a contiguous tensor's first element in its device's memory. TorchSharp 0.107 keeps its storage
    /// pointer accessor protected, so this calls the same LibTorchSharp export it wraps (storage base) and adds the
    /// tensor's storage offset.
    /// </summary>
    public static IntPtr DataPointer(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!tensor.is_contiguous())
        {
            throw new ArgumentException("the tensor is not contiguous", nameof(tensor));
        }
        var storage = THSStorage_data_ptr(tensor.Handle);
        if (storage == IntPtr.Zero)
        {
            throw new InvalidOperationException("libtorch returned no data pointer for the bucket");
        }
        return storage + checked((nint)(tensor.storage_offset() * tensor.element_size()));
    }

    private void EnsureBucket(long floats, Device device)
    {
        if (bucket is not null && bucket.numel() >= floats && bucket.device_type == device.type && bucket.device_index == device.index)
        {
            return;
        }
        bucket?.Dispose();
        bucket = torch.empty([floats], ScalarType.Float32, device);
    }

    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSStorage_data_ptr(IntPtr tensor);
}
