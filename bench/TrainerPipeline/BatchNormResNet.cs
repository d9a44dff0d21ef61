using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Bench.TrainerPipeline;

/// <summary>
/// The BiT ResNet-v2 shape with the normalisation swapped for the GN+WS comparison: plain convolutions (no weight
/// standardisation) and BatchNorm everywhere GroupNorm was (pre-activation units, head norm), same root and head.
/// </summary>
internal sealed class BatchNormResNet : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> root;
    private readonly nn.Module<Tensor, Tensor> body;
    private readonly nn.Module<Tensor, Tensor> headNorm;
    private readonly nn.Module<Tensor, Tensor> head;

    public BatchNormResNet(int[] blocks, double width, int classes)
        : base(nameof(BatchNormResNet))
    {
        int C(int c) => (int)(c * width);
        root = nn.Conv2d(3, C(64), 7, stride: 2, padding: 3, bias: false);
        var stages = new List<nn.Module<Tensor, Tensor>>();
        var inChannels = C(64);
        for (var s = 0; s < 4; s++)
        {
            var outChannels = C(256 << s);
            for (var u = 0; u < blocks[s]; u++)
            {
                stages.Add(new Unit(inChannels, C(64 << s), outChannels, u == 0 && s > 0 ? 2 : 1, projection: u == 0));
                inChannels = outChannels;
            }
        }
        body = nn.Sequential(stages);
        headNorm = Norm(inChannels);
        head = nn.Conv2d(inChannels, classes, 1);
        using (torch.no_grad())
        {
            foreach (var (name, p) in ((nn.Module)head).named_parameters())
            {
                p.zero_();
            }
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = root.forward(input);
        x = nn.functional.max_pool2d(nn.functional.pad(x, [1, 1, 1, 1]), 3, 2);
        x = body.forward(x);
        x = nn.functional.relu(headNorm.forward(x)).mean([2, 3], keepdim: true);
        return head.forward(x).flatten(1).MoveToOuterDisposeScope();
    }

    internal static nn.Module<Tensor, Tensor> Norm(long channels)
    {
        var norm = nn.BatchNorm2d(channels);
        using (torch.no_grad())
        {
            norm.weight!.fill_(1);
            norm.bias!.zero_();
        }
        return norm;
    }

    private sealed class Unit : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> bn1;
        private readonly nn.Module<Tensor, Tensor> conv1;
        private readonly nn.Module<Tensor, Tensor> bn2;
        private readonly nn.Module<Tensor, Tensor> conv2;
        private readonly nn.Module<Tensor, Tensor> bn3;
        private readonly nn.Module<Tensor, Tensor> conv3;
        private readonly nn.Module<Tensor, Tensor>? proj;

        public Unit(long inChannels, long mid, long outChannels, long stride, bool projection)
            : base(nameof(Unit))
        {
            bn1 = Norm(inChannels);
            conv1 = nn.Conv2d(inChannels, mid, 1, bias: false);
            bn2 = Norm(mid);
            conv2 = nn.Conv2d(mid, mid, 3, stride: stride, padding: 1, bias: false);
            bn3 = Norm(mid);
            conv3 = nn.Conv2d(mid, outChannels, 1, bias: false);
            proj = projection ? nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false) : null;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var a = nn.functional.relu(bn1.forward(x));
            var shortcut = proj is null ? x : proj.forward(a);
            var y = conv1.forward(a);
            y = conv2.forward(nn.functional.relu(bn2.forward(y)));
            y = conv3.forward(nn.functional.relu(bn3.forward(y)));
            return y.add(shortcut).MoveToOuterDisposeScope();
        }
    }
}
