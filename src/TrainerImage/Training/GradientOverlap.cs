using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Trainer.Training;

/// <summary>
/// Starts each gradient bucket's all-reduce while the backward pass is still computing earlier layers' gradients,
/// as PyTorch's DistributedDataParallel does with gradient hooks. TorchSharp has no tensor gradient hooks, so this
/// uses what it has: a forward pre-hook on every module that owns parameters wraps the module's input in an identity
/// autograd function (<see cref="GradientReady"/>). That function's backward runs once the gradient of the module's
/// input is complete. libtorch's engine runs a backward pass in decreasing creation order of the graph's nodes, and
/// runs each parameter's gradient accumulation as soon as it is ready (it has the highest priority), so at that point
/// the gradient of every parameter first used after the identity was created (this module's and all later modules')
/// is final. Buckets are formed in reverse order of first use, so they fill in order; a communication thread sums
/// them with Gloo one by one in that order, which every rank shares, while backward continues on the training
/// thread. What no identity covers (the first layer, whose input needs no gradient; parameters used outside their
/// own module's call) is packed after backward returns. Only float32 CPU gradients take this path.
/// </summary>
public sealed class GradientOverlap : IDisposable
{
    private readonly Action<Memory<float>> allReduceSum;
    private readonly int bucketFloats;
    private readonly int worldSize;
    private readonly List<(Tensor Parameter, int Module)> parameters = [];
    private readonly List<Action> hooks = [];
    private readonly BlockingCollection<Action> queue = [];
    private readonly Thread worker;

    // Per step: the order modules ran in, the plan built from it, and what has been handed to the worker.
    private readonly List<int> forwardOrder = [];
    private Plan? plan;
    private int posted;
    private readonly List<Task> pending = [];
    private bool armed;
    private Exception? failure;

    public GradientOverlap(nn.Module model, IReadOnlyList<Tensor> trainable, Action<Memory<float>> allReduceSum, int worldSize, int bucketFloats)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainable);
        this.allReduceSum = allReduceSum ?? throw new ArgumentNullException(nameof(allReduceSum));
        this.worldSize = worldSize;
        this.bucketFloats = bucketFloats;
        var wanted = new HashSet<IntPtr>(trainable.Select(t => t.Handle));
        var module = 0;
        var seen = new HashSet<IntPtr>();
        foreach (var (_, m) in model.named_modules())
        {
            var own = m.named_parameters(recurse: false).Select(p => (Tensor)p.parameter).Where(p => wanted.Contains(p.Handle)).ToList();
            if (own.Count == 0 || m is not nn.Module<Tensor, Tensor> hookable)
            {
                continue;
            }
            var index = module++;
            own.ForEach(p =>
            {
                parameters.Add((p, index));
                seen.Add(p.Handle);
            });
            var remover = hookable.register_forward_pre_hook((_, input) => Entered(index, input));
            hooks.Add(remover.remove);
        }
        // Trainable parameters outside any hookable module: never ready before backward ends.
        foreach (var p in trainable.Where(t => !seen.Contains(t.Handle)))
        {
            parameters.Add((p, -1));
        }
        worker = new Thread(Work) { IsBackground = true, Name = "bit-gradient-allreduce" };
        worker.Start();
    }

    /// <summary>Buckets handed to the communication thread while backward was still running (over the last step).</summary>
    public int BucketsStartedDuringBackward { get; private set; }

    /// <summary>Buckets in the last step's plan.</summary>
    public int Buckets => plan?.Buckets.Count ?? 0;

    /// <summary>
    /// The next forward and backward are the step's last micro-batch: its backward starts the all-reduces. Earlier
    /// micro-batches only accumulate gradients.
    /// </summary>
    public void Arm()
    {
        forwardOrder.Clear();
        plan = null;
        posted = 0;
        pending.Clear();
        BucketsStartedDuringBackward = 0;
        failure = null;
        armed = true;
    }

    /// <summary>
    /// After the last backward: packs what is left, then sums the loss and stop flag with the same thread (after the
    /// buckets, an order every rank shares), waits for everything and writes the averaged gradients back.
    /// </summary>
    public (double Loss, bool Stop) Finish(double loss, bool stop)
    {
        armed = false;
        if (failure is { } packing)
        {
            failure = null;
            throw new InvalidOperationException("packing a gradient bucket during backward failed: " + packing.Message, packing);
        }
        plan ??= BuildPlan();
        using (torch.no_grad())
        {
            while (posted < plan.Buckets.Count)
            {
                Post(posted, duringBackward: false);
            }
        }
        var values = new[] { (float)loss, stop ? 1f : 0f };
        pending.Add(Enqueue(() => allReduceSum(values)));
        try
        {
            Task.WaitAll([.. pending]);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            throw e.InnerExceptions[0];
        }
        using (torch.no_grad())
        {
            var scale = 1f / worldSize;
            foreach (var bucket in plan.Buckets)
            {
                foreach (ref var v in bucket.Data.AsSpan())
                {
                    v *= scale;
                }
                var offset = 0;
                foreach (var p in bucket.Parameters)
                {
                    var n = (int)p.numel();
                    if (p.grad is { } g)
                    {
                        if (g.is_contiguous())
                        {
                            bucket.Data.AsSpan(offset, n).CopyTo(MemoryMarshal.Cast<byte, float>(g.bytes));
                        }
                        else
                        {
                            using var averaged = torch.tensor(bucket.Data.AsSpan(offset, n).ToArray(), g.shape);
                            g.copy_(averaged);
                        }
                    }
                    offset += n;
                }
            }
        }
        return (values[0] / worldSize, values[1] > 0);
    }

    public void Dispose()
    {
        foreach (var remove in hooks)
        {
            remove();
        }
        queue.CompleteAdding();
        worker.Join(TimeSpan.FromSeconds(10));
        queue.Dispose();
    }

    private Tensor Entered(int module, Tensor input)
    {
        if (!armed || !torch.is_grad_enabled())
        {
            return input;
        }
        forwardOrder.Add(module);
        if (!input.requires_grad)
        {
            return input;
        }
        return GradientReady.apply(input, this, forwardOrder.Count - 1);
    }

    /// <summary>Backward has passed the identity made when the forward pass was at <paramref name="position"/>.</summary>
    private void Reached(int position)
    {
        // Runs inside libtorch's backward, called from native code: an exception escaping here would end the
        // process, so it is kept for Finish, which packs whatever was not posted.
        if (!armed || failure is not null)
        {
            return;
        }
        try
        {
            plan ??= BuildPlan();
            using var noGrad = torch.no_grad();
            // A bucket is ready when every parameter in it was first used at or after this position.
            while (posted < plan.Buckets.Count && plan.Buckets[posted].ReadyAt >= position)
            {
                Post(posted, duringBackward: true);
            }
        }
        catch (Exception e)
        {
            failure = e;
        }
    }

    private void Post(int index, bool duringBackward)
    {
        var bucket = plan!.Buckets[index];
        var offset = 0;
        foreach (var p in bucket.Parameters)
        {
            var n = (int)p.numel();
            var target = bucket.Data.AsSpan(offset, n);
            if (p.grad is { } g)
            {
                using var cpu = g.is_contiguous() ? g.alias() : g.contiguous();
                MemoryMarshal.Cast<byte, float>(cpu.bytes).CopyTo(target);
            }
            else
            {
                target.Clear();
            }
            offset += n;
        }
        posted++;
        if (duringBackward)
        {
            BucketsStartedDuringBackward++;
        }
        var data = bucket.Data.AsMemory(0, offset);
        pending.Add(Enqueue(() => allReduceSum(data)));
    }

    private Plan BuildPlan()
    {
        // First use of each module in this forward pass; never used (or not hookable) = -1: packed after backward.
        var first = new Dictionary<int, int>();
        for (var i = 0; i < forwardOrder.Count; i++)
        {
            first.TryAdd(forwardOrder[i], i);
        }
        var ordered = parameters
            .Select((p, registration) => (p.Parameter, ReadyAt: p.Module >= 0 && first.TryGetValue(p.Module, out var at) ? at : -1, registration))
            .OrderByDescending(p => p.ReadyAt).ThenByDescending(p => p.registration)
            .ToList();
        var buckets = new List<Bucket>();
        var i2 = 0;
        while (i2 < ordered.Count)
        {
            var members = new List<Tensor>();
            long floats = 0;
            var readyAt = int.MaxValue;
            do
            {
                members.Add(ordered[i2].Parameter);
                floats += ordered[i2].Parameter.numel();
                readyAt = Math.Min(readyAt, ordered[i2].ReadyAt);
                i2++;
            }
            while (i2 < ordered.Count && floats + ordered[i2].Parameter.numel() <= bucketFloats);
            buckets.Add(new Bucket(members, new float[floats], readyAt));
        }
        return new Plan(buckets);
    }

    private Task Enqueue(Action collective)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Add(() =>
        {
            try
            {
                collective();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task;
    }

    private void Work()
    {
        foreach (var item in queue.GetConsumingEnumerable())
        {
            item();
        }
    }

    private sealed record Bucket(List<Tensor> Parameters, float[] Data, int ReadyAt);

    private sealed record Plan(List<Bucket> Buckets);

    /// <summary>The identity whose backward tells the overlap how far the backward pass has come.</summary>
    private sealed class GradientReady : torch.autograd.SingleTensorFunction<GradientReady>
    {
        public override string Name => "BiTGradientReady";

        public override Tensor forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            ctx.save_data("overlap", vars[1]);
            ctx.save_data("position", vars[2]);
            return ((Tensor)vars[0]).alias();
        }

        public override List<Tensor> backward(torch.autograd.AutogradContext ctx, Tensor grad_output)
        {
            ((GradientOverlap)ctx.get_data("overlap")).Reached((int)ctx.get_data("position"));
            // One gradient per argument of apply: the tensor's passes through, the two others are not tensors.
            return [grad_output, null!, null!];
        }
    }
}
