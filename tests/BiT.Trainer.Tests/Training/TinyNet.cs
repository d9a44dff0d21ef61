using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Trainer.Tests.Training;

/// <summary>A few-thousand-parameter conv net for engine tests (conv, GroupNorm, ReLU, pool, dense head).</summary>
internal sealed class TinyNet : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv;
    private readonly nn.Module<Tensor, Tensor> norm;
    private readonly nn.Module<Tensor, Tensor> head;
    private readonly bool poison;

    public TinyNet(int classes, bool poison = false)
        : base(nameof(TinyNet))
    {
        conv = nn.Conv2d(3, 8, 3, stride: 2, padding: 1);
        var groupNorm = nn.GroupNorm(4, 8);
        // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised (torch.empty); PyTorch uses ones/zeros.
        using (torch.no_grad())
        {
            groupNorm.weight!.fill_(1);
            groupNorm.bias!.zero_();
        }
        norm = groupNorm;
        head = nn.Linear(8, classes);
        this.poison = poison;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var features = nn.functional.relu(norm.call(conv.call(input))).mean([2, 3]);
        var logits = head.call(features);
        return poison ? logits.mul(float.NaN) : logits;
    }

    public static byte[] Snapshot(nn.Module<Tensor, Tensor> model) =>
        [.. model.named_parameters().SelectMany(p => p.parameter.detach().contiguous().bytes.ToArray())];
}
