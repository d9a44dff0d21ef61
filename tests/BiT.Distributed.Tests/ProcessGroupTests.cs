using BiT.Distributed;

namespace BiT.Distributed.Tests;

/// <summary>
/// The Gloo binding with every rank on its own thread of this process (each has its own Gloo context and TCP
/// connections, as separate processes would); the trainer's tests cover separate processes.
/// </summary>
public sealed class ProcessGroupTests : IDisposable
{
    private readonly string store = Path.Combine(Path.GetTempPath(), "bit-distributed-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(store, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private RendezvousOptions Options(int rank, int size, string prefix = "g", double timeoutSeconds = 60) => new()
    {
        StoreDirectory = store,
        Prefix = prefix,
        Rank = rank,
        WorldSize = size,
        Timeout = TimeSpan.FromSeconds(timeoutSeconds),
    };

    private static T[] OnRanks<T>(int size, Func<int, T> body)
    {
        var tasks = Enumerable.Range(0, size).Select(r => Task.Factory.StartNew(() => body(r), TaskCreationOptions.LongRunning)).ToArray();
        // Bounded: a hang is a failure, not a stuck test run.
        Assert.True(Task.WaitAll(tasks, TimeSpan.FromMinutes(2)), "the ranks did not finish within 2 minutes");
        return [.. tasks.Select(t => t.Result)];
    }

    [Fact]
    public void The_binding_loads()
    {
        Assert.True(ProcessGroup.IsAvailable(out var reason), reason);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void All_reduce_sums_every_rank_s_buffer_in_place(int size)
    {
        // Sizes around Gloo's segmenting (a ring of 3 splits a buffer in chunks) and an odd length.
        var results = OnRanks(size, rank =>
        {
            using var group = ProcessGroup.Join(Options(rank, size));
            var output = new List<float[]>();
            foreach (var n in new[] { 1, 7, 1000, 300_001 })
            {
                var data = Enumerable.Range(0, n).Select(i => (float)((rank + 1) * (i % 97))).ToArray();
                group.AllReduceSum(data);
                output.Add(data);
            }
            return output;
        });
        var factor = size * (size + 1) / 2;
        foreach (var perRank in results)
        {
            foreach (var data in perRank)
            {
                for (var i = 0; i < data.Length; i++)
                {
                    Assert.Equal(factor * (i % 97), data[i]);
                }
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public void A_TCP_rendezvous_on_the_master_port_forms_the_group_without_a_shared_directory()
    {
        var port = FreePort();
        var results = OnRanks(3, rank =>
        {
            using var group = ProcessGroup.Join(Options(rank, 3) with { StoreDirectory = null, MasterAddress = "127.0.0.1", MasterPort = port });
            var data = new float[] { rank, 1 };
            group.AllReduceSum(data);
            return data;
        });
        Assert.All(results, r => Assert.Equal(new float[] { 3, 3 }, r));
    }

    [Fact]
    public void A_TCP_rendezvous_without_rank_0_fails_at_the_timeout_naming_the_master()
    {
        var port = FreePort();
        var e = Assert.Throws<CollectiveException>(() => ProcessGroup.Join(Options(1, 2, timeoutSeconds: 1) with { StoreDirectory = null, MasterPort = port }));
        Assert.Contains($"tcp://127.0.0.1:{port}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Broadcast_copies_the_root_s_bytes_to_every_rank_and_barrier_returns()
    {
        var results = OnRanks(3, rank =>
        {
            using var group = ProcessGroup.Join(Options(rank, 3));
            var data = new byte[4097];
            if (rank == 1)
            {
                new Random(5).NextBytes(data);
            }
            group.Broadcast(data, root: 1);
            group.Barrier();
            return data;
        });
        var expected = new byte[4097];
        new Random(5).NextBytes(expected);
        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public void A_rank_that_leaves_makes_the_others_fail_with_an_error_not_a_hang()
    {
        // Rank 1 leaves (as a killed process's sockets close); rank 0's next collective must throw well before the
        // 10-minute timeout, naming itself.
        var started = DateTime.UtcNow;
        var results = OnRanks(2, rank =>
        {
            var group = ProcessGroup.Join(Options(rank, 2, timeoutSeconds: 600));
            group.Barrier();
            if (rank == 1)
            {
                group.Dispose();
                return null;
            }
            try
            {
                var data = new float[1000];
                for (var i = 0; i < 100; i++)
                {
                    group.AllReduceSum(data);
                }
                return "no error";
            }
            catch (CollectiveException e)
            {
                return e.Message;
            }
            finally
            {
                group.Dispose();
            }
        });
        Assert.Contains("rank 0 of 2", results[0]);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromMinutes(2));
    }

    [Fact]
    public void A_rank_that_does_not_take_part_ends_the_collective_at_the_timeout()
    {
        using var gaveUp = new ManualResetEventSlim();
        var results = OnRanks(2, rank =>
        {
            using var group = ProcessGroup.Join(Options(rank, 2, timeoutSeconds: 2));
            group.Barrier();
            if (rank == 1)
            {
                // Alive but silent (a hung rank): leave only once rank 0 has given up.
                gaveUp.Wait(TimeSpan.FromMinutes(1));
                return "";
            }
            var e = Assert.Throws<CollectiveException>(() => group.AllReduceSum(new float[16]));
            gaveUp.Set();
            return e.Message;
        });
        Assert.Contains("all-reduce of 64 bytes failed on rank 0 of 2", results[0]);
    }

    [Fact]
    public void Joining_without_the_other_ranks_fails_at_the_timeout_naming_the_store()
    {
        var e = Assert.Throws<CollectiveException>(() => ProcessGroup.Join(Options(0, 2, timeoutSeconds: 1)));
        Assert.Contains("rank 0 of 2 could not join the group", e.Message);
        Assert.Contains(store, e.Message);
    }

    [Fact]
    public void A_rank_outside_the_world_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ProcessGroup.Join(Options(2, 2)));
    }
}
