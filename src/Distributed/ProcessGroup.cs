using System.Globalization;

namespace BiT.Distributed;

/// <summary>
/// One rank's membership of a group of processes, on Gloo's TCP transport through libbitdist.so: sum-all-reduce of
/// float32 buffers in place, broadcast of bytes, barrier. Every call is bounded by the group's timeout, and a peer
/// that dies closes its connections, so a failure anywhere surfaces as a <see cref="CollectiveException"/> on the
/// other ranks, never as a hang. Calls are serialized (Gloo collectives on one context must not overlap).
/// </summary>
public sealed class ProcessGroup : IDisposable
{
    private readonly Lock gate = new();
    private IntPtr handle;

    private ProcessGroup(IntPtr handle, int rank, int worldSize)
    {
        this.handle = handle;
        Rank = rank;
        WorldSize = worldSize;
    }

    public int Rank { get; }

    public int WorldSize { get; }

    /// <summary>Whether libbitdist.so loads here; <paramref name="reason"/> says why not.</summary>
    public static bool IsAvailable(out string reason)
    {
        try
        {
            _ = NativeMethods.Version();
            reason = "";
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            reason = $"libbitdist.so (the Gloo shim) cannot be loaded: {e.Message}";
            return false;
        }
    }

    /// <summary>Joins the group; returns once every rank has connected to every other, or throws after the timeout.</summary>
    public static ProcessGroup Join(RendezvousOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.WorldSize < 1 || options.Rank < 0 || options.Rank >= options.WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"rank {options.Rank} is not in [0, {options.WorldSize})");
        }
        if (!IsAvailable(out var reason))
        {
            throw new CollectiveException(reason);
        }
        var timeout = (int)Math.Clamp(options.Timeout.TotalMilliseconds, 1, int.MaxValue);
        int status;
        IntPtr group;
        string store;
        if (options.StoreDirectory is { } directory)
        {
            Directory.CreateDirectory(directory);
            store = directory;
            status = NativeMethods.Init(directory, options.Prefix, options.Host, options.Rank, options.WorldSize, timeout, out group);
        }
        else
        {
            if (options.MasterPort is < 1 or > 65535)
            {
                throw new ArgumentOutOfRangeException(nameof(options), $"master port {options.MasterPort} is not in [1, 65535]");
            }
            store = $"tcp://{options.MasterAddress}:{options.MasterPort}";
            status = NativeMethods.InitTcp(options.MasterAddress, options.MasterPort, options.Prefix, options.Host, options.Rank, options.WorldSize, timeout, out group);
        }
        if (status != 0)
        {
            throw new CollectiveException(string.Create(CultureInfo.InvariantCulture,
                $"rank {options.Rank} of {options.WorldSize} could not join the group (store {store}, timeout {options.Timeout.TotalSeconds:0.#} s): {NativeMethods.LastErrorMessage()}"));
        }
        return new ProcessGroup(group, options.Rank, options.WorldSize);
    }

    /// <summary>Replaces <paramref name="data"/> on every rank with the element-wise sum over all ranks.</summary>
    public unsafe void AllReduceSum(Span<float> data)
    {
        lock (gate)
        {
            var group = Live();
            fixed (float* p = data)
            {
                Check(NativeMethods.AllReduceSumF32(group, p, data.Length), "all-reduce", data.Length * sizeof(float));
            }
        }
    }

    /// <summary>Copies <paramref name="data"/> of rank <paramref name="root"/> into every other rank's buffer.</summary>
    public unsafe void Broadcast(Span<byte> data, int root)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, WorldSize);
        lock (gate)
        {
            var group = Live();
            fixed (byte* p = data)
            {
                Check(NativeMethods.Broadcast(group, p, data.Length, root), "broadcast", data.Length);
            }
        }
    }

    /// <summary>Returns once every rank has called it.</summary>
    public void Barrier()
    {
        lock (gate)
        {
            Check(NativeMethods.Barrier(Live()), "barrier", 0);
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (handle != IntPtr.Zero)
            {
                NativeMethods.Destroy(handle);
                handle = IntPtr.Zero;
            }
        }
    }

    private IntPtr Live() => handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(ProcessGroup));

    private void Check(int status, string what, long bytes)
    {
        if (status != 0)
        {
            throw new CollectiveException(string.Create(CultureInfo.InvariantCulture,
                $"{what} of {bytes} bytes failed on rank {Rank} of {WorldSize} (a peer died, or did not take part within the timeout): {NativeMethods.LastErrorMessage()}"));
        }
    }
}
