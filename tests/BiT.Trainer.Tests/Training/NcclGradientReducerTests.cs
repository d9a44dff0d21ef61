using System.Runtime.InteropServices;
using BiT.Distributed;
using BiT.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Trainer.Tests.Training;

/// <summary>
/// The device-side gradient averaging and the engine choice, where no GPU is: the reducer's packing, in-place
/// all-reduce through the bucket's data pointer, division and unpacking run on CPU tensors with a simulated
/// all-reduce over 2 ranks (threads meeting at a barrier); NCCL itself is checked by bench/gpu/nccl_check.sh.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class NcclGradientReducerTests
{
    // Shapes of a small network's gradients: a 0-d one, one larger than the bucket, and a transposed (non-contiguous) one.
    private static Tensor[] Gradients(int rank)
    {
        var generator = new Generator((ulong)(100 + rank));
        return
        [
            torch.randn([3, 2, 2], generator: generator),
            torch.randn([], generator: generator),
            torch.randn([5], generator: generator),
            torch.randn([30], generator: generator),
            torch.randn([4, 3], generator: generator).t(),
            torch.randn([2], generator: generator),
        ];
    }

    [Fact]
    public async Task Two_simulated_ranks_get_the_mean_of_their_gradients_through_the_bucket_s_data_pointer()
    {
        const int BucketFloats = 20;
        using var barrier = new Barrier(2);
        var deposited = new float[2][];
        var results = new float[2][][];
        var calls = new int[2];
        var threads = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            var grads = Gradients(rank);
            using var reducer = new NcclGradientReducer((pointer, count) =>
            {
                // A sum over both ranks, reading and writing the buffer only through the pointer it was given.
                var mine = new float[count];
                Marshal.Copy(pointer, mine, 0, (int)count);
                deposited[rank] = mine;
                Assert.True(barrier.SignalAndWait(TimeSpan.FromMinutes(1)));
                var other = deposited[1 - rank];
                Assert.Equal(count, other.Length);
                var sum = mine.Zip(other, (a, b) => a + b).ToArray();
                Assert.True(barrier.SignalAndWait(TimeSpan.FromMinutes(1)));
                Marshal.Copy(sum, 0, pointer, (int)count);
            }, worldSize: 2, BucketFloats);
            reducer.Reduce(grads);
            calls[rank] = reducer.Calls;
            results[rank] = [.. grads.Select(g => g.contiguous().data<float>().ToArray())];
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(threads).WaitAsync(TimeSpan.FromMinutes(2));

        var a = Gradients(0);
        var b = Gradients(1);
        for (var k = 0; k < a.Length; k++)
        {
            var mean = a[k].add(b[k]).div(2).contiguous().data<float>().ToArray();
            for (var rank = 0; rank < 2; rank++)
            {
                Assert.Equal(mean.Length, results[rank][k].Length);
                for (var j = 0; j < mean.Length; j++)
                {
                    Assert.Equal(mean[j], results[rank][k][j], 6);
                }
            }
        }
        // Buckets of up to 20 floats: [12, 1, 5] (18), [30] alone, [12, 2] (14).
        Assert.Equal([3, 3], calls);
    }

    [Fact]
    public void The_data_pointer_includes_the_storage_offset()
    {
        using var all = torch.arange(10, ScalarType.Float32);
        using var middle = all.narrow(0, 3, 4);
        var read = new float[4];
        Marshal.Copy(NcclGradientReducer.DataPointer(middle), read, 0, 4);
        Assert.Equal([3f, 4f, 5f, 6f], read);
        using var transposed = torch.zeros([2, 3]).t();
        Assert.Throws<ArgumentException>(() => NcclGradientReducer.DataPointer(transposed));
    }

    [Fact]
    public void A_CPU_run_reduces_with_Gloo_and_never_loads_NCCL()
    {
        var engine = GradientEngine.Choose(DeviceType.CPU, () => throw new InvalidOperationException("NCCL loaded on a CPU run"));
        Assert.Null(engine.Nccl);
        Assert.Equal("Gloo (the gradients are on the CPU)", engine.Description);
    }

    [Fact]
    public void CUDA_gradients_without_NCCL_fall_back_to_Gloo_saying_why()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir", "libnccl.so.2");
        var engine = GradientEngine.Choose(DeviceType.CUDA, () => (Nccl.TryLoad(out var reason, missing), reason));
        Assert.Null(engine.Nccl);
        Assert.Equal($"Gloo via host memory, not NCCL, although the gradients are on CUDA: NCCL is not present: {missing} cannot be loaded (it ships with CUDA images and PyTorch's CUDA wheels)", engine.Description);
    }

    [Fact]
    public async Task Every_rank_of_a_Gloo_group_agrees_on_Gloo_when_NCCL_is_absent()
    {
        var store = Path.Combine(Path.GetTempPath(), "bit-trainer-tests", "rendezvous-" + Guid.NewGuid().ToString("N"));
        try
        {
            var ranks = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
            {
                using var group = ProcessGroup.Join(new RendezvousOptions { StoreDirectory = store, Prefix = "nccl", Rank = rank, WorldSize = 2, Timeout = TimeSpan.FromMinutes(2) });
                using var reducer = NcclGradientReducer.TryCreate(group, () => (null, "absent here"), 64, out var reason);
                Assert.Null(reducer);
                // The group is still usable afterwards: the vote was one matched collective.
                var values = new[] { rank + 1f };
                group.AllReduceSum(values);
                return (reason, values[0]);
            }, TaskCreationOptions.LongRunning)).ToArray();
            var results = await Task.WhenAll(ranks).WaitAsync(TimeSpan.FromMinutes(3));
            Assert.All(results, r => Assert.Equal(("Gloo via host memory, not NCCL, although the gradients are on CUDA: absent here", 3f), r));
        }
        finally
        {
            if (Directory.Exists(store))
            {
                Directory.Delete(store, recursive: true);
            }
        }
    }

    [Fact]
    public void A_2_rank_CPU_run_averages_gradients_without_asking_for_NCCL()
    {
        var asked = 0;
        var averaged = Ranks.Run(2, world =>
        {
            var g = torch.full([3], world.Rank + 1f);
            using var p = torch.zeros([3]).requires_grad_();
            p.grad = g;
            world.AverageGradients([p]);
            return p.grad!.data<float>().ToArray();
        }, ncclLoader: () =>
        {
            Interlocked.Increment(ref asked);
            return (null, "should not be asked");
        });
        Assert.All(averaged, a => Assert.Equal([1.5f, 1.5f, 1.5f], a));
        Assert.Equal(0, asked);
    }
}
