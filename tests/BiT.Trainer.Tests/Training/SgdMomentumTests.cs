using BiT.Trainer.Training;
using TorchSharp;

namespace BiT.Trainer.Tests.Training;

[Collection(TorchCollection.Name)]
public sealed class SgdMomentumTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(1e-4)]
    public void Matches_torch_optim_sgd_with_momentum(double weightDecay)
    {
        torch.random.manual_seed(3);
        var init = torch.randn(5, 4);
        using var mine = torch.nn.Parameter(init.clone());
        using var theirs = torch.nn.Parameter(init.clone());
        using var sgd = new SgdMomentum([("w", mine)], 0.9, weightDecay);
        var reference = torch.optim.SGD([theirs], 0.1, momentum: 0.9, weight_decay: weightDecay);
        double[] rates = [0.0, 0.05, 0.1, 0.1, 0.01];
        foreach (var lr in rates)
        {
            foreach (var p in new torch.Tensor[] { mine, theirs })
            {
                p.grad?.zero_();
                using var loss = p.pow(3).sum().add(p.sin().sum());
                loss.backward();
            }
            sgd.Step(lr);
            foreach (var g in reference.ParamGroups)
            {
                g.LearningRate = lr;
            }
            reference.step();
        }
        Assert.True(torch.allclose(mine, theirs, rtol: 1e-6, atol: 1e-7));
        Assert.False(torch.allclose(mine, init));
    }

    [Fact]
    public void Mixup_lambda_is_one_per_step_and_reproducible()
    {
        Assert.Equal(1.0, MixUp.Lambda(1, 5, 0.0));
        var a = MixUp.Lambda(1, 5, 0.1);
        Assert.Equal(a, MixUp.Lambda(1, 5, 0.1));
        Assert.NotEqual(a, MixUp.Lambda(1, 6, 0.1));
        Assert.InRange(a, 0, 1);
        Assert.Equal(MixUp.Permutation(1, 5, 0, 8), MixUp.Permutation(1, 5, 0, 8));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), MixUp.Permutation(1, 5, 1, 8).Order());
    }
}
