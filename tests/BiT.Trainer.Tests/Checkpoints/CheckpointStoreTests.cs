using BiT.Trainer.Checkpoints;

namespace BiT.Trainer.Tests.Checkpoints;

public sealed class CheckpointStoreTests
{
    private static CheckpointState State(int step, string plan = "plan-a") => new(
        step, plan, 7, step * 10L,
        [new TensorData("model/w", "Float32", [2, 2], [.. Enumerable.Range(0, 16).Select(i => (byte)(i + step))]), new TensorData("momentum/w", "Float32", [1], [1, 2, 3, 4])],
        DateTimeOffset.UnixEpoch);

    [Fact]
    public void Round_trip_keeps_every_field_and_byte()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(dir.Path, 3, _ => { });
        var path = store.Write(State(5));
        Assert.EndsWith("step-00000005.ckpt", path, StringComparison.Ordinal);
        var read = CheckpointFile.Read(path);
        Assert.Equal((5, "plan-a", 7L, 50L), (read.Step, read.PlanHash, read.Seed, read.SamplesSeen));
        Assert.Equal(State(5).Tensors.Select(t => t.Data), read.Tensors.Select(t => t.Data));
        Assert.Equal([2L, 2L], read.Tensors[0].Shape);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void Only_the_last_n_are_kept()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(dir.Path, 2, _ => { });
        foreach (var step in new[] { 1, 2, 3, 4 })
        {
            store.Write(State(step));
        }
        Assert.Equal([3, 4], store.List().Select(c => c.Step));
    }

    [Fact]
    public void Pruning_keeps_the_new_checkpoint_and_leaves_another_plans_files_alone()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(dir.Path, 1, _ => { });
        store.Write(State(9, "plan-b"));
        store.Write(State(1));
        store.Write(State(2));
        Assert.Equal([2, 9], store.List().Select(c => c.Step));
        Assert.Equal(2, store.LoadLatest("plan-a")!.Step);
    }

    [Fact]
    public void A_corrupt_newest_checkpoint_is_skipped_with_a_warning()
    {
        using var dir = new TempDir();
        var warnings = new List<string>();
        var store = new CheckpointStore(dir.Path, 5, warnings.Add);
        store.Write(State(1));
        var newest = store.Write(State(2));
        var bytes = File.ReadAllBytes(newest);
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(newest, bytes);

        var loaded = store.LoadLatest("plan-a");
        Assert.Equal(1, loaded!.Step);
        Assert.Contains(warnings, w => w.Contains("step-00000002.ckpt", StringComparison.Ordinal) && w.Contains("SHA-256", StringComparison.Ordinal));
    }

    [Fact]
    public void A_partial_checkpoint_and_garbage_are_skipped()
    {
        using var dir = new TempDir();
        var warnings = new List<string>();
        var store = new CheckpointStore(dir.Path, 5, warnings.Add);
        store.Write(State(1));
        var second = store.Write(State(2));
        var bytes = File.ReadAllBytes(second);
        File.WriteAllBytes(second, bytes[..(bytes.Length - 5)]);
        File.WriteAllText(Path.Combine(dir.Path, CheckpointStore.FileName(3)), "not a checkpoint");
        Assert.Equal(1, store.LoadLatest("plan-a")!.Step);
        Assert.Contains(warnings, w => w.Contains("partial write", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("bad magic", StringComparison.Ordinal));
    }

    [Fact]
    public void A_checkpoint_of_another_plan_is_not_resumed()
    {
        using var dir = new TempDir();
        var warnings = new List<string>();
        var store = new CheckpointStore(dir.Path, 5, warnings.Add);
        store.Write(State(4, "plan-b"));
        Assert.Null(store.LoadLatest("plan-a"));
        Assert.Contains(warnings, w => w.Contains("another plan", StringComparison.Ordinal));
        Assert.Equal(4, store.LoadLatest("plan-b")!.Step);
    }

    [Fact]
    public void An_empty_or_missing_directory_has_nothing_to_resume()
    {
        using var dir = new TempDir();
        Assert.Null(new CheckpointStore(Path.Combine(dir.Path, "none"), 3, _ => { }).LoadLatest("x"));
    }
}
