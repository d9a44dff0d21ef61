using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using BiT.Contracts.Pods;
using BiT.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Trainer.Training;

/// <summary>
/// This process's place in a data-parallel run: its rank, the world size, and (when the world is larger than one)
/// the Gloo group through which gradients are averaged, the starting state is broadcast from rank 0, and the ranks
/// agree on the loss and on stopping. One process (<see cref="Single"/>) does no communication at all.
/// </summary>
public sealed class DataParallel : IDisposable
{
    /// <summary>PyTorch DDP's default bucket (25 MiB): few enough calls to hide latency, small enough to keep copies cheap.</summary>
    public const int DefaultBucketFloats = 25 * 1024 * 1024 / sizeof(float);

    private readonly ProcessGroup? group;
    private float[] bucket = [];
    private long communicationTicks;
    private NcclGradientReducer? deviceReducer;
    private bool deviceEngineChosen;

    private DataParallel(int rank, int worldSize, ProcessGroup? group)
    {
        Rank = rank;
        WorldSize = worldSize;
        this.group = group;
    }

    public static DataParallel Single { get; } = new(0, 1, null);

    public int Rank { get; }

    public int WorldSize { get; }

    /// <summary>Rank 0: the one process that writes checkpoints, the final model, metrics and status.</summary>
    public bool IsLeader => Rank == 0;

    public int BucketFloats { get; private init; } = DefaultBucketFloats;

    /// <summary>
    /// Wall time this rank has spent inside collectives (the loss agreement, gradient buckets, broadcasts), waiting
    /// for slower ranks included: what data parallelism costs on top of the computation.
    /// </summary>
    public TimeSpan CommunicationTime => Stopwatch.GetElapsedTime(0, Volatile.Read(ref communicationTicks));

    /// <summary>The same group with another bucket size (tests of the bucketing, the benchmark).</summary>
    public DataParallel WithBucketFloats(int floats) => new(Rank, WorldSize, group) { BucketFloats = floats > 0 ? floats : throw new ArgumentOutOfRangeException(nameof(floats)), NcclLoader = NcclLoader };

    /// <summary>How NCCL is loaded when gradients are on CUDA (tests substitute it); never called on a CPU run.</summary>
    public Func<(Nccl? Nccl, string Reason)> NcclLoader { get; init; } = GradientEngine.LoadNccl;

    /// <summary>The engine this rank would reduce gradients on <paramref name="device"/> with, and why (the log's ranks line).</summary>
    public string DescribeGradientEngine(DeviceType device) => GradientEngine.Choose(device, NcclLoader).Description;

    /// <summary>Wraps a joined group (tests, the benchmark).</summary>
    public static DataParallel Of(ProcessGroup group, Func<(Nccl? Nccl, string Reason)>? ncclLoader = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        return new DataParallel(group.Rank, group.WorldSize, group) { NcclLoader = ncclLoader ?? GradientEngine.LoadNccl };
    }

    /// <summary>
    /// The world the environment describes (<see cref="TrainerEnv.WorldSize"/>, <see cref="TrainerEnv.Rank"/>, ...):
    /// <see cref="Single"/> when WORLD_SIZE is absent or 1, else this rank joins the group (blocking until every rank
    /// has, or the timeout) through a file store in BIT_RENDEZVOUS_DIR when set, else through the TCP store rank 0
    /// serves on MASTER_ADDR:MASTER_PORT. Bad values are a <see cref="TrainingFailedException"/> naming the variable.
    /// </summary>
    public static DataParallel FromEnvironment(Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var size = Integer(env, TrainerEnv.WorldSize, 1, 1, 65536);
        if (size == 1)
        {
            return Single;
        }
        var rank = Integer(env, TrainerEnv.Rank, null, 0, size - 1);
        var timeout = Integer(env, TrainerEnv.CollectiveTimeoutSeconds, 300, 1, 86400);
        var master = Value(env, TrainerEnv.MasterAddress) ?? "127.0.0.1";
        var store = Value(env, TrainerEnv.RendezvousDirectory);
        int port = 0;
        if (store is null)
        {
            // torchrun's contract: rank 0 serves the rendezvous store on MASTER_ADDR:MASTER_PORT.
            port = Integer(env, TrainerEnv.MasterPort, null, 1, 65535);
        }
        var local = master is "localhost" || (IPAddress.TryParse(master, out var ip) && IPAddress.IsLoopback(ip));
        var options = new RendezvousOptions
        {
            StoreDirectory = store,
            MasterAddress = master,
            MasterPort = port,
            Prefix = Value(env, TrainerEnv.RendezvousId) ?? $"{master}:{Value(env, TrainerEnv.MasterPort)}",
            Host = Value(env, TrainerEnv.RankHost) ?? (local ? "127.0.0.1" : Dns.GetHostName()),
            Rank = rank,
            WorldSize = size,
            Timeout = TimeSpan.FromSeconds(timeout),
        };
        try
        {
            return new DataParallel(rank, size, ProcessGroup.Join(options));
        }
        catch (CollectiveException e)
        {
            // Another attempt can get past a peer that died or a rendezvous that timed out: exit 5, retryable.
            throw new BiT.Trainer.Commands.TransientFailureException(e.Message, e);
        }
    }

    /// <summary>
    /// Makes every rank's parameters, buffers and momentum (and the step) rank 0's: after this the ranks differ only
    /// in the data they read. Rank 0 has restored the checkpoint (or built the network from the same seed).
    /// </summary>
    public int BroadcastState(nn.Module model, SgdMomentum optimizer, int step)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (group is null)
        {
            return step;
        }
        var header = BitConverter.GetBytes(step);
        Run(() => group.Broadcast(header, 0));
        using var noGrad = torch.no_grad();
        foreach (var tensor in model.parameters().Select(p => (Tensor)p).Concat(model.buffers()).Concat(optimizer.State.Select(s => s.Buffer)))
        {
            using var cpu = tensor.device_type == DeviceType.CPU && tensor.is_contiguous() ? tensor.alias() : tensor.cpu().contiguous();
            Run(() => group.Broadcast(cpu.bytes, 0));
            if (!ReferenceEquals(cpu, tensor) && (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous()))
            {
                tensor.copy_(cpu);
            }
        }
        return BitConverter.ToInt32(header);
    }

    /// <summary>
    /// The gradient reduction overlapped with backward (<see cref="GradientOverlap"/>) for float32 CPU training in a
    /// group; null for one process or other devices, which use <see cref="Agree"/> and <see cref="AverageGradients"/>
    /// after backward. Collectives run on the overlap's own thread, one at a time.
    /// </summary>
    public GradientOverlap? Overlap(nn.Module model, IReadOnlyList<Tensor> trainable)
    {
        ArgumentNullException.ThrowIfNull(trainable);
        if (group is null || trainable.Any(t => t.device_type != DeviceType.CPU || t.dtype != ScalarType.Float32))
        {
            return null;
        }
        var g = group;
        return new GradientOverlap(model, trainable, data => Collective(() => g.AllReduceSum(data.Span)), WorldSize, BucketFloats);
    }

    /// <summary>
    /// Ends a step whose last backward ran under <paramref name="overlap"/>: the remaining buckets and the loss/stop
    /// agreement, then the averaged gradients in place. Only the time spent waiting here counts as communication
    /// (what the overlap could not hide).
    /// </summary>
    public (double Loss, bool Stop) FinishStep(GradientOverlap overlap, double loss, bool stop)
    {
        ArgumentNullException.ThrowIfNull(overlap);
        var started = Stopwatch.GetTimestamp();
        try
        {
            return overlap.Finish(loss, stop);
        }
        finally
        {
            communicationTicks += Stopwatch.GetTimestamp() - started;
        }
    }

    /// <summary>
    /// Replaces each parameter's gradient with the mean over the ranks, in buckets of <see cref="BucketFloats"/>
    /// (one all-reduce per bucket; float32 gradients are summed by Gloo, then divided by the world size).
    /// </summary>
    public void AverageGradients(IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (group is null)
        {
            return;
        }
        using var noGrad = torch.no_grad();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Any(g => g.dtype != ScalarType.Float32))
        {
            throw new TrainingFailedException("data-parallel training averages float32 gradients only");
        }
        if (grads.Count > 0 && grads[0].device_type == DeviceType.CUDA && DeviceReducer() is { } onDevice)
        {
            // NCCL on the device (NcclGradientReducer); the time counted is the enqueueing, the GPU works on.
            Run(() => onDevice.Reduce(grads));
            return;
        }
        foreach (var (first, end, floats) in GradientBuckets.Consecutive(grads, BucketFloats))
        {
            if (bucket.Length < floats)
            {
                bucket = new float[floats];
            }
            var span = bucket.AsSpan(0, (int)floats);
            var offset = 0;
            for (var k = first; k < end; k++)
            {
                var n = (int)grads[k].numel();
                using var cpu = OnCpu(grads[k]);
                MemoryMarshal.Cast<byte, float>(cpu.bytes).CopyTo(span.Slice(offset, n));
                offset += n;
            }
            Run(() => group.AllReduceSum(bucket.AsSpan(0, (int)floats)));
            var scale = 1f / WorldSize;
            foreach (ref var v in span)
            {
                v *= scale;
            }
            offset = 0;
            for (var k = first; k < end; k++)
            {
                var g = grads[k];
                var n = (int)g.numel();
                if (g.device_type == DeviceType.CPU && g.is_contiguous())
                {
                    span.Slice(offset, n).CopyTo(MemoryMarshal.Cast<byte, float>(g.bytes));
                }
                else
                {
                    using var averaged = torch.tensor(span.Slice(offset, n).ToArray(), g.shape);
                    g.copy_(averaged);
                }
                offset += n;
            }
        }
    }

    /// <summary>
    /// The step's loss averaged over the ranks, and whether any rank was asked to stop: every rank then stops at the
    /// same step (a stop seen by one rank only would leave the others waiting in the next all-reduce).
    /// </summary>
    public (double Loss, bool Stop) Agree(double loss, bool stop)
    {
        if (group is null)
        {
            return (loss, stop);
        }
        var values = new[] { (float)loss, stop ? 1f : 0f };
        Run(() => group.AllReduceSum(values));
        return (values[0] / WorldSize, values[1] > 0);
    }

    public void Dispose()
    {
        deviceReducer?.Dispose();
        group?.Dispose();
    }

    /// <summary>
    /// Chosen once, at the first CUDA step, by every rank together (the Gloo group exists by then); the initial
    /// broadcast (BroadcastState) stays on Gloo through host memory: it runs once per run.
    /// </summary>
    private NcclGradientReducer? DeviceReducer()
    {
        if (!deviceEngineChosen)
        {
            deviceEngineChosen = true;
            string reason = "";
            Run(() => deviceReducer = NcclGradientReducer.TryCreate(group!, NcclLoader, BucketFloats, out reason));
            if (deviceReducer is null && IsLeader)
            {
                Console.Error.WriteLine($"rank 0: gradients are reduced by {reason}");
            }
        }
        return deviceReducer;
    }

    private static Tensor OnCpu(Tensor t) => t.device_type == DeviceType.CPU && t.is_contiguous() ? t.alias() : t.cpu().contiguous();

    private void Run(Action collective)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            Collective(collective);
        }
        finally
        {
            communicationTicks += Stopwatch.GetTimestamp() - started;
        }
    }

    private static void Collective(Action collective)
    {
        try
        {
            collective();
        }
        catch (CollectiveException e)
        {
            // A peer died or hung: the whole group ends, and another attempt (from the last checkpoint) can succeed.
            throw new BiT.Trainer.Commands.TransientFailureException(e.Message, e);
        }
    }

    private static string? Value(Func<string, string?> env, string name) => env(name) is { Length: > 0 } v ? v.Trim() : null;

    private static int Integer(Func<string, string?> env, string name, int? fallback, int min, int max)
    {
        if (Value(env, name) is not { } text)
        {
            return fallback ?? throw new TrainingFailedException(name == TrainerEnv.MasterPort
                ? $"{TrainerEnv.WorldSize} is above 1 but neither {TrainerEnv.MasterPort} (rank 0 serves the rendezvous there) nor {TrainerEnv.RendezvousDirectory} (a directory every rank sees) is set"
                : $"{name} is not set ({TrainerEnv.WorldSize} is above 1)");
        }
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new TrainingFailedException($"{name} must be a whole number in [{min}, {max}], got '{text}'");
        }
        return value;
    }
}
