using BiT.Contracts.Rules;
using BiT.Trainer.Training;
using TorchSharp;

namespace BiT.Trainer.Tests.Training;

public sealed class LossesTests
{
    [Fact]
    public void Softmax_is_the_mean_negative_log_likelihood_of_the_label()
    {
        using var logits = torch.tensor(new float[] { 2, 0, 0, 0, 1, 3 }, [2, 3]);
        using var labels = torch.tensor(new long[] { 0, 2 }, [2]);
        var expected = (-Math.Log(Math.Exp(2) / (Math.Exp(2) + 2)) - Math.Log(Math.Exp(3) / (1 + Math.Exp(1) + Math.Exp(3)))) / 2;
        using var loss = Losses.CrossEntropy(logits, labels, LossFunction.Softmax, 3);
        Assert.Equal(expected, loss.item<float>(), 5);
    }

    [Fact]
    public void Sigmoid_sums_per_class_binary_cross_entropy_and_averages_over_the_batch()
    {
        using var logits = torch.tensor(new float[] { 2, -1, 0, 0.5f }, [2, 2]);
        using var labels = torch.tensor(new long[] { 0, 1 }, [2]);
        static double Bce(double z, double y) => -((y * Math.Log(1 / (1 + Math.Exp(-z)))) + ((1 - y) * Math.Log(1 - (1 / (1 + Math.Exp(-z))))));
        var expected = ((Bce(2, 1) + Bce(-1, 0)) + (Bce(0, 0) + Bce(0.5, 1))) / 2;
        using var loss = Losses.CrossEntropy(logits, labels, LossFunction.Sigmoid, 2);
        Assert.Equal(expected, loss.item<float>(), 5);
    }
}
