using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Trainer.Training;

/// <summary>
/// SGD with heavy-ball momentum and L2 weight decay, the update of torch.optim.SGD (dampening 0, not Nesterov):
/// <c>d = g + wd·p; buf = m·buf + d; p -= lr·buf</c>. Written here so the momentum buffers are plain named
/// tensors that a checkpoint saves and restores exactly.
/// </summary>
public sealed class SgdMomentum : IDisposable
{
    private readonly (string Name, Tensor Parameter)[] parameters;
    private readonly Tensor[] buffers;

    public SgdMomentum(IEnumerable<(string Name, Tensor Parameter)> parameters, double momentum, double weightDecay)
    {
        this.parameters = [.. parameters.Where(p => p.Parameter.requires_grad)];
        Momentum = momentum;
        WeightDecay = weightDecay;
        using var noGrad = torch.no_grad();
        buffers = [.. this.parameters.Select(p => torch.zeros_like(p.Parameter).DetachFromDisposeScope())];
    }

    public double Momentum { get; }

    public double WeightDecay { get; }

    public IEnumerable<(string Name, Tensor Buffer)> State => parameters.Select((p, i) => (p.Name, buffers[i]));

    public void ZeroGrad()
    {
        foreach (var (_, p) in parameters)
        {
            p.grad?.zero_();
        }
    }

    public void Step(double learningRate)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        // Scalars held for the whole loop: TorchSharp does not keep an implicitly converted Scalar alive across the
        // native call, and a finalizer that runs mid-call leaves libtorch reading a freed Scalar ("Expected false to
        // be true ... toFloat", seen in CI under GC pressure).
        using var weightDecay = WeightDecay.ToScalar();
        using var momentum = Momentum.ToScalar();
        using var step = (-learningRate).ToScalar();
        for (var i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i].Parameter;
            var grad = p.grad;
            if (grad is null)
            {
                continue;
            }
            var d = WeightDecay != 0 ? grad.add(p, alpha: weightDecay) : grad;
            buffers[i].mul_(momentum).add_(d, BiT.Model.HeldScalars.One);
            p.add_(buffers[i], alpha: step);
        }
    }

    public void Dispose()
    {
        foreach (var b in buffers)
        {
            b.Dispose();
        }
    }
}
