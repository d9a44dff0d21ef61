using BiT.Distributed;
using BiT.Trainer.Training;
using TorchSharp;

namespace BiT.Trainer.Tests.Training;

/// <summary>
/// Runs a body once per rank of a Gloo group, each rank on its own thread (its own context and TCP connections, as
/// separate processes would have), and a network whose initialisation is the same whichever thread builds it.
/// </summary>
internal static class Ranks
{
    private static readonly Lock Gate = new();

    public static T[] Run<T>(int worldSize, Func<DataParallel, T> body, int bucketFloats = DataParallel.DefaultBucketFloats)
    {
        var store = Path.Combine(Path.GetTempPath(), "bit-trainer-tests", "rendezvous-" + Guid.NewGuid().ToString("N"));
        try
        {
            var tasks = Enumerable.Range(0, worldSize).Select(rank => Task.Factory.StartNew(
                () =>
                {
                    using var group = ProcessGroup.Join(new RendezvousOptions
                    {
                        StoreDirectory = store,
                        Prefix = "test",
                        Rank = rank,
                        WorldSize = worldSize,
                        Timeout = TimeSpan.FromMinutes(2),
                    });
                    using var world = DataParallel.Of(group);
                    return body(bucketFloats == DataParallel.DefaultBucketFloats ? world : world.WithBucketFloats(bucketFloats));
                },
                TaskCreationOptions.LongRunning)).ToArray();
            // Bounded: a hang is a failure (the collectives' own timeout is 2 minutes).
            Assert.True(Task.WaitAll(tasks, TimeSpan.FromMinutes(5)), "the ranks did not finish within 5 minutes");
            return [.. tasks.Select(t => t.Result)];
        }
        finally
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
    }

    /// <summary>A <see cref="TinyNet"/> from seed 3, built under a lock so another thread's draws cannot interleave.</summary>
    public static TinyNet Net()
    {
        lock (Gate)
        {
            torch.random.manual_seed(3);
            return new TinyNet(4);
        }
    }
}
