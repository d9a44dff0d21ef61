using System.Diagnostics;
using System.Globalization;
using BiT.Distributed;

// One rank of the all-reduce benchmark: AllReduce.dll RANK WORLD STORE_DIR PREFIX SECONDS SIZE...
// Per size (float32 elements): 3 warm-up all-reduces, then as many as fit in SECONDS (the count agreed by rank 0's
// clock through a broadcast, so every rank runs the same number). Rank 0 prints one line per size:
// RESULT bitdist <floats> <seconds per all-reduce> <algorithm bandwidth GB/s = bytes / time>.
var inv = CultureInfo.InvariantCulture;
var rank = int.Parse(args[0], inv);
var world = int.Parse(args[1], inv);
var seconds = double.Parse(args[4], inv);
using var group = ProcessGroup.Join(new RendezvousOptions
{
    StoreDirectory = args[2],
    Prefix = args[3],
    Rank = rank,
    WorldSize = world,
    Timeout = TimeSpan.FromMinutes(2),
});
foreach (var size in args[5..].Select(a => int.Parse(a, inv)))
{
    var data = new float[size];
    Array.Fill(data, 1f);
    for (var i = 0; i < 3; i++)
    {
        group.AllReduceSum(data);
    }
    // Calibrate: time one, decide the count on rank 0, share it.
    var watch = Stopwatch.StartNew();
    group.AllReduceSum(data);
    var count = BitConverter.GetBytes(Math.Clamp((int)(seconds / Math.Max(watch.Elapsed.TotalSeconds, 1e-6)), 3, 100_000));
    group.Broadcast(count, 0);
    var n = BitConverter.ToInt32(count);
    group.Barrier();
    watch.Restart();
    for (var i = 0; i < n; i++)
    {
        group.AllReduceSum(data);
    }
    var each = watch.Elapsed.TotalSeconds / n;
    if (rank == 0)
    {
        Console.WriteLine(string.Create(inv, $"RESULT bitdist {size} {each:E4} {size * 4.0 / each / 1e9:F3}"));
    }
}
