using BiT.Trainer.Data;

namespace BiT.Trainer.Tests.Data;

public sealed class BatchPipelineTests
{
    private static async Task<List<Batch>> Take(IImageDataset data, IImageTransform transform, Func<long, SampleRef[]?> plan, int workers, int max, CorruptImageTracker? tracker = null)
    {
        await using var pipeline = new BatchPipeline(data, transform, plan, seed: 5, workers, prefetch: 3, tracker);
        var batches = new List<Batch>();
        while (batches.Count < max && await pipeline.NextAsync(CancellationToken.None) is { } b)
        {
            batches.Add(b);
        }
        return batches;
    }

    [Fact]
    public async Task Batches_arrive_in_order_and_do_not_depend_on_the_number_of_workers()
    {
        var data = new FakeDataset(37, 4);
        var transform = new FineTuneTransform(10, 8);
        var one = await Take(data, transform, BatchPlans.Training(new SampleOrder(37, 5), 6, 0), workers: 1, max: 15);
        var four = await Take(data, transform, BatchPlans.Training(new SampleOrder(37, 5), 6, 0), workers: 4, max: 15);
        Assert.Equal(one.Select(b => b.Labels), four.Select(b => b.Labels));
        Assert.Equal(one.Select(b => b.Pixels), four.Select(b => b.Pixels));
    }

    [Fact]
    public async Task Returned_pixel_arrays_are_reused_and_the_batches_stay_the_same()
    {
        var data = new FakeDataset(37, 4);
        var transform = new FineTuneTransform(10, 8);
        var fresh = await Take(data, transform, BatchPlans.Training(new SampleOrder(37, 5), 6, 0), workers: 2, max: 30);
        // A consumer that copies each batch out and hands it back, as the trainer does after torch.tensor.
        await using var pipeline = new BatchPipeline(data, transform, BatchPlans.Training(new SampleOrder(37, 5), 6, 0), seed: 5, workers: 2, prefetch: 3);
        var copies = new List<(float[] Pixels, int[] Labels)>();
        var arrays = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        while (copies.Count < 30 && await pipeline.NextAsync(CancellationToken.None) is { } b)
        {
            copies.Add(((float[])b.Pixels.Clone(), b.Labels));
            arrays.Add(b.Pixels);
            pipeline.Return(b);
        }
        Assert.Equal(fresh.Select(b => b.Labels), copies.Select(c => c.Labels));
        // A reused array still holding an earlier batch anywhere the transform did not write would differ here.
        Assert.Equal(fresh.Select(b => b.Pixels), copies.Select(c => c.Pixels));
        Assert.True(arrays.Count <= 2 + 3 + 2 + 1, $"{arrays.Count} arrays for 30 batches");
        Assert.Equal(arrays.Count, pipeline.AllocatedBuffers);
    }

    [Fact]
    public async Task Starting_at_a_later_batch_gives_the_same_batches_as_running_up_to_it()
    {
        var data = new FakeDataset(37, 4);
        var transform = new FineTuneTransform(10, 8);
        var all = await Take(data, transform, BatchPlans.Training(new SampleOrder(37, 5), 6, 0), 2, 12);
        var resumed = await Take(data, transform, BatchPlans.Training(new SampleOrder(37, 5), 6, 7), 2, 5);
        Assert.Equal(all.Skip(7).Select(b => b.Pixels), resumed.Select(b => b.Pixels));
    }

    [Fact]
    public async Task Sequential_plan_covers_every_example_once_with_a_short_last_batch()
    {
        var batches = await Take(new FakeDataset(10, 3), new EvalTransform(8), BatchPlans.Sequential(10, 4), 2, 100);
        Assert.Equal([4, 4, 2], batches.Select(b => b.Count));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i % 3), batches.SelectMany(b => b.Labels));
    }

    [Fact]
    public async Task Corrupt_example_is_replaced_by_the_next_one_and_counted()
    {
        var warnings = new List<string>();
        var tracker = new CorruptImageTracker(10, 0.5, warnings.Add);
        var batches = await Take(new FakeDataset(10, 10, 8, 3), new EvalTransform(8), BatchPlans.Sequential(10, 5), 1, 100, tracker);
        Assert.Equal([0, 1, 2, 4, 4, 5, 6, 7, 8, 9], batches.SelectMany(b => b.Labels));
        Assert.Equal(1, tracker.Count);
        Assert.Single(warnings);
    }

    [Fact]
    public async Task Too_many_corrupt_examples_fail_the_pipeline_with_a_data_error()
    {
        var tracker = new CorruptImageTracker(10, 0.1, _ => { });
        await Assert.ThrowsAsync<DataException>(() => Take(new FakeDataset(10, 10, 8, 1, 2, 3), new EvalTransform(8), BatchPlans.Sequential(10, 5), 1, 100, tracker));
    }
}
