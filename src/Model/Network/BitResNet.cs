using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BiT.Model;

/// <summary>
/// The BiT ResNet-v2 (GroupNorm + Weight Standardisation). Input: float NCHW images scaled to [-1, 1]; output:
/// logits [N, headSize]. Parameter names mirror the published checkpoint keys
/// (<c>root.conv.weight</c>, <c>body.block1.unit01.gn1.weight</c>, ..., <c>head.conv.bias</c>), so loading weights
/// is a plain mapping (see <see cref="NpzWeights"/>).
/// </summary>
public sealed class BitResNet : nn.Module<Tensor, Tensor>
{
    private readonly BitRoot _root;
    private readonly Sequential _body;
    private readonly BitHead _head;

    private BitResNet(BitArchitecture architecture, int headSize)
        : base(nameof(BitResNet))
    {
        Architecture = architecture;
        HeadSize = headSize;
        _root = new BitRoot(architecture.RootChannels);

        var stages = new List<(string, nn.Module<Tensor, Tensor>)>();
        long inChannels = architecture.RootChannels;
        for (int stage = 1; stage <= 4; stage++)
        {
            long mid = architecture.StageMidChannels(stage);
            long outChannels = architecture.StageOutChannels(stage);
            var units = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int unit = 1; unit <= architecture.Blocks[stage - 1]; unit++)
            {
                // Stage 1 follows the root's max-pool and keeps the resolution; stages 2-4 halve it.
                long stride = unit == 1 && stage > 1 ? 2 : 1;
                units.Add((UnitName(unit), new PreActBottleneck(inChannels, mid, outChannels, stride, projection: unit == 1)));
                inChannels = outChannels;
            }

            stages.Add(($"block{stage}", nn.Sequential(units)));
        }

        _body = nn.Sequential(stages);
        _head = new BitHead(architecture.FeatureChannels, headSize);
        register_module("root", _root);
        register_module("body", _body);
        register_module("head", _head);
    }

    /// <summary>The network's shape.</summary>
    public BitArchitecture Architecture { get; }

    /// <summary>Number of classes of the head.</summary>
    public int HeadSize { get; }

    /// <summary>
    /// The precision of the body's activations: <see cref="ScalarType.Float32"/> (default) or
    /// <see cref="ScalarType.BFloat16"/>. Parameters stay float32 either way (master weights, updated in full
    /// precision); kernels and norms are cast per call, like autocast. See docs/model.md for measured speeds.
    /// </summary>
    public ScalarType ComputeType
    {
        get;
        set => field = value is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "compute precision must be Float32, BFloat16 or Float16");
    } = ScalarType.Float32;

    /// <summary>
    /// Whether activations run in channels-last (NHWC) memory format, which oneDNN's CPU convolutions favour.
    /// Outputs are the same; only speed differs.
    /// </summary>
    public bool ChannelsLast { get; set; }

    /// <summary>The head (GroupNorm, ReLU, pool, classifier).</summary>
    public BitHead Head => _head;

    /// <summary>
    /// Builds the network with a zero-initialised <paramref name="headSize"/>-way head. With a <paramref name="seed"/>,
    /// the body's initial weights are reproducible (CPU).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">headSize is not positive.</exception>
    public static BitResNet Create(BitArchitecture arch, int headSize, long? seed = null)
    {
        ArgumentNullException.ThrowIfNull(arch);
        ArgumentOutOfRangeException.ThrowIfLessThan(headSize, 1);
        if (seed is long s)
        {
            random.manual_seed(s);
        }

        return new BitResNet(arch, headSize);
    }

    /// <summary>The unit name used in module paths and checkpoint keys: unit01, unit02, ...</summary>
    public static string UnitName(int unit) => "unit" + unit.ToString("00", CultureInfo.InvariantCulture);

    /// <summary>Returns logits [N, headSize] for images [N, 3, H, W].</summary>
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 4 || input.shape[1] != 3)
        {
            throw new ArgumentException(
                $"input must be [N, 3, H, W] images; got shape [{string.Join(", ", input.shape)}]", nameof(input));
        }

        using var scope = NewDisposeScope();
        var x = _root.call(Prepare(input));
        x = _body.call(x);
        return _head.call(x).MoveToOuterDisposeScope();
    }

    /// <summary>The final features before the head, [N, 2048·w, h, w].</summary>
    public Tensor Features(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = NewDisposeScope();
        return _body.call(_root.call(Prepare(input))).MoveToOuterDisposeScope();
    }

    private Tensor Prepare(Tensor input)
    {
        var x = input.dtype == ComputeType ? input : input.to(ComputeType);
        // TorchSharp 0.107 has no memory_format argument; NHWC storage seen through NCHW strides is exactly what
        // libtorch calls channels-last, and every later op keeps that layout.
        return ChannelsLast ? x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : x;
    }

    /// <summary>Number of trainable parameters of this instance.</summary>
    public long CountParameters() => parameters().Sum(p => p.numel());
}
