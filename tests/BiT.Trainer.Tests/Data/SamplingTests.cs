using BiT.Trainer.Data;

namespace BiT.Trainer.Tests.Data;

public sealed class SamplingTests
{
    [Fact]
    public void Few_shot_takes_k_per_class_and_is_fixed_by_the_seed()
    {
        var data = new FakeDataset(200, 10);
        var a = FewShotSampler.Select(data, 5, seed: 3);
        var b = FewShotSampler.Select(data, 5, seed: 3);
        var c = FewShotSampler.Select(data, 5, seed: 4);
        Assert.Equal(50, a.Count);
        Assert.All(Enumerable.Range(0, 10), k => Assert.Equal(5, Enumerable.Range(0, a.Count).Count(i => a.LabelOf(i) == k)));
        Assert.Equal(a.Indices, b.Indices);
        Assert.NotEqual(a.Indices, c.Indices);
    }

    [Fact]
    public void Few_shot_with_too_few_examples_is_a_clear_error()
    {
        var e = Assert.Throws<DataException>(() => FewShotSampler.Select(new FakeDataset(20, 10), 3, 0));
        Assert.Contains("class 0 has only 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sample_order_visits_every_example_once_per_epoch_and_differs_between_epochs()
    {
        var order = new SampleOrder(50, seed: 1);
        var epoch0 = Enumerable.Range(0, 50).Select(p => order.At(p).Index).ToArray();
        var epoch1 = Enumerable.Range(50, 50).Select(p => order.At(p).Index).ToArray();
        Assert.Equal(Enumerable.Range(0, 50), epoch0.Order());
        Assert.Equal(Enumerable.Range(0, 50), epoch1.Order());
        Assert.NotEqual(epoch0, epoch1);
        Assert.Equal(1, order.At(73).Epoch);
        Assert.Equal(epoch1[23], new SampleOrder(50, seed: 1).At(73).Index);
    }

    [Fact]
    public void Beta_samples_have_the_right_mean_and_stay_in_the_unit_interval()
    {
        var samples = Enumerable.Range(0, 4000).Select(i => new DeterministicRandom(7, RandomPurpose.Mixup, i).NextBeta(0.1, 0.1)).ToArray();
        Assert.All(samples, s => Assert.InRange(s, 0.0, 1.0));
        Assert.InRange(samples.Average(), 0.45, 0.55);
        // Beta(0.1, 0.1) puts most of its mass near 0 and 1.
        Assert.True(samples.Count(s => s is < 0.1 or > 0.9) > samples.Length * 0.6);
        var skewed = Enumerable.Range(0, 4000).Select(i => new DeterministicRandom(7, RandomPurpose.Mixup, i).NextBeta(2, 6)).Average();
        Assert.InRange(skewed, 0.23, 0.27);
    }

    [Fact]
    public void Class_subset_relabels_in_the_given_order()
    {
        var subset = SubsetDataset.OfClasses(new FakeDataset(30, 10), [7, 2]);
        Assert.Equal(6, subset.Count);
        Assert.Equal(2, subset.NumClasses);
        Assert.Equal([1, 0, 1, 0, 1, 0], Enumerable.Range(0, 6).Select(subset.LabelOf));
    }
}
