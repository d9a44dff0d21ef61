using BiT.Model;
using BiT.Model.Tests.TestSupport;
using static TorchSharp.torch;

namespace BiT.Model.Tests.Network;

public sealed class ForwardTests
{
    [Fact]
    public void R50x1_maps_images_to_logits_and_2048_features()
    {
        using var model = BitResNet.Create(BitArchitecture.Parse("R50x1"), 1000, seed: 1);
        model.eval();
        using var noGrad = no_grad();
        using var x = rand(2, 3, 64, 64) * 2 - 1;
        using var features = model.Features(x);
        using var logits = model.forward(x);
        // 64 -> root conv 32 -> zero pad 34 -> pool 16 -> stages 16, 8, 4, 2.
        Assert.Equal(new long[] { 2, 2048, 2, 2 }, features.shape);
        Assert.Equal(new long[] { 2, 1000 }, logits.shape);
    }

    // The published block counts at width 0.5 on CPU, so every stage layout really runs forward cheaply; the
    // published widths are checked on the meta device below.
    [Theory]
    [InlineData("R3-4-6-3x0.5")]
    [InlineData("R3-4-23-3x0.5")]
    [InlineData("R3-8-36-3x0.5")]
    public void Every_published_depth_runs_forward_to_the_right_shape(string name)
    {
        using var model = BitResNet.Create(BitArchitecture.Parse(name), 5, seed: 2);
        using var noGrad = no_grad();
        using var x = zeros(1, 3, 32, 32);
        using var features = model.Features(x);
        using var logits = model.forward(x);
        Assert.Equal(new long[] { 1, 1024, 1, 1 }, features.shape);
        Assert.Equal(new long[] { 1, 5 }, logits.shape);
    }

    [Theory]
    [InlineData("R50x1")]
    [InlineData("R50x3")]
    [InlineData("R101x1")]
    [InlineData("R101x3")]
    [InlineData("R152x2")]
    [InlineData("R152x4")]
    public void Every_published_variant_has_the_recipe_layer_shapes(string name)
    {
        var arch = BitArchitecture.Parse(name);
        int w = (int)arch.WidthFactor;
        using var meta = new MetaDevice();
        using var model = BitResNet.Create(arch, 21843);
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);

        Assert.Equal(new long[] { 64 * w, 3, 7, 7 }, shapes["root.conv.weight"]);
        Assert.Equal(new long[] { 21843, 2048 * w, 1, 1 }, shapes["head.conv.weight"]);
        Assert.Equal(new long[] { 21843 }, shapes["head.conv.bias"]);
        Assert.Equal(new long[] { 2048 * w }, shapes["head.gn.weight"]);
        for (int stage = 1; stage <= 4; stage++)
        {
            long outChannels = (256L << (stage - 1)) * w;
            long mid = outChannels / 4;
            long inChannels = stage == 1 ? 64 * w : outChannels / 2;
            string first = $"body.block{stage}.unit01";
            Assert.Equal(new long[] { outChannels, inChannels, 1, 1 }, shapes[$"{first}.downsample.weight"]);
            Assert.Equal(new long[] { mid, inChannels, 1, 1 }, shapes[$"{first}.conv1.weight"]);
            Assert.Equal(new long[] { mid, mid, 3, 3 }, shapes[$"{first}.conv2.weight"]);
            Assert.Equal(new long[] { outChannels, mid, 1, 1 }, shapes[$"{first}.conv3.weight"]);
            int units = arch.Blocks[stage - 1];
            Assert.Equal(units, shapes.Keys.Count(k => k.StartsWith($"body.block{stage}.", StringComparison.Ordinal) && k.EndsWith(".conv2.weight", StringComparison.Ordinal)));
            Assert.Equal(1, shapes.Keys.Count(k => k.StartsWith($"body.block{stage}.", StringComparison.Ordinal) && k.Contains("downsample", StringComparison.Ordinal)));
            Assert.Equal(new long[] { outChannels, 1, 1, 1 }.Take(1), shapes[$"body.block{stage}.{BitResNet.UnitName(units)}.conv3.weight"].Take(1));
        }
    }

    [Fact]
    public void A_new_head_is_zero_so_logits_start_at_zero()
    {
        using var model = BitResNet.Create(BitArchitecture.Parse("R1-1-1-1x0.5"), 7, seed: 3);
        using var noGrad = no_grad();
        using var x = rand(2, 3, 32, 32);
        using var logits = model.forward(x);
        Assert.Equal(0f, logits.abs().max().item<float>());
        Assert.True(model.Features(x).abs().max().item<float>() > 0);
    }

    [Fact]
    public void GroupNorms_start_at_scale_one_and_shift_zero()
    {
        using var model = BitResNet.Create(BitArchitecture.Parse("R1-1-1-1x0.5"), 3);
        var norms = model.named_parameters().Where(p => p.name.Contains("gn", StringComparison.Ordinal)).ToList();
        Assert.Equal((4 * 3 * 2) + 2, norms.Count);
        foreach (var (name, p) in norms)
        {
            float expected = name.EndsWith(".weight", StringComparison.Ordinal) ? 1f : 0f;
            Assert.True(p.data<float>().ToArray().All(v => v == expected), name);
        }
    }

    [Fact]
    public void Same_seed_gives_the_same_network_and_outputs_on_cpu()
    {
        var arch = BitArchitecture.Parse("R1-1-1-1x0.5");
        using var a = BitResNet.Create(arch, 4, seed: 42);
        using var b = BitResNet.Create(arch, 4, seed: 42);
        using var c = BitResNet.Create(arch, 4, seed: 43);
        foreach (var ((name, pa), (_, pb), (_, pc)) in a.named_parameters().Zip(b.named_parameters(), c.named_parameters()))
        {
            Assert.True(pa.allclose(pb, 0, 0), name);
            if (!name.StartsWith("head.conv", StringComparison.Ordinal) && !name.Contains("gn", StringComparison.Ordinal))
            {
                Assert.False(pa.allclose(pc, 0, 0), name);
            }
        }

        using var noGrad = no_grad();
        random.manual_seed(5);
        using var x = randn(2, 3, 32, 32);
        using var fa = a.Features(x);
        using var fb = b.Features(x);
        using var fa2 = a.Features(x);
        Assert.True(fa.allclose(fb, 0, 0));
        Assert.True(fa.allclose(fa2, 0, 0));
    }

    [Fact]
    public void Train_and_eval_modes_switch_and_agree_without_batch_statistics()
    {
        using var model = BitResNet.Create(BitArchitecture.Parse("R1-1-1-1x0.5"), 3, seed: 9);
        using var noGrad = no_grad();
        using var x = randn(2, 3, 32, 32);
        model.train();
        Assert.True(model.training);
        using var trained = model.Features(x);
        model.eval();
        Assert.False(model.training);
        Assert.All(model.modules(), m => Assert.False(m.training));
        using var evaluated = model.Features(x);
        Assert.True(trained.allclose(evaluated));
    }

    [Fact]
    public void Backward_reaches_every_parameter()
    {
        using var model = BitResNet.Create(BitArchitecture.Parse("R1-1-1-1x0.5"), 3, seed: 11);
        using var x = randn(2, 3, 32, 32);
        using var target = tensor(new long[] { 0, 2 });
        using var loss = nn.functional.cross_entropy(model.forward(x), target);
        loss.backward();
        // The zero head passes no gradient into the body on the first step (its weights are zero), but its own
        // weights and bias get one; the body's parameters must at least have a gradient tensor.
        Assert.All(model.parameters(), p => Assert.NotNull(p.grad));
        Assert.True(model.Head.parameters().Last().grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Channels_last_and_bf16_compute_agree_with_float32_and_keep_float32_weights()
    {
        using var model = BitResNet.Create(BitArchitecture.Parse("R1-1-1-1x0.5"), 5, seed: 12);
        random.manual_seed(13);
        using (no_grad())
        {
            foreach (var p in model.Head.parameters())
            {
                p.copy_(randn_like(p));
            }
        }

        using var x = rand(2, 3, 64, 64) * 2 - 1;
        using var reference = model.forward(x);

        model.ChannelsLast = true;
        using var channelsLast = model.forward(x);
        Assert.True(channelsLast.allclose(reference, rtol: 1e-4, atol: 1e-4));

        model.ComputeType = ScalarType.BFloat16;
        using var bf16 = model.forward(x);
        Assert.Equal(ScalarType.Float32, bf16.dtype);
        float scale = reference.abs().max().item<float>();
        float diff = (bf16 - reference).abs().max().item<float>();
        Assert.True(diff < 0.1f * scale, $"bf16 differs by {diff} with logits up to {scale}");
        Assert.True(diff > 0, "bf16 compute should round differently from float32");

        using var target = tensor(new long[] { 1, 3 });
        using var loss = nn.functional.cross_entropy(bf16, target);
        loss.backward();
        Assert.All(model.parameters(), p =>
        {
            Assert.Equal(ScalarType.Float32, p.dtype);
            Assert.Equal(ScalarType.Float32, p.grad!.dtype);
        });
        Assert.True(model.named_parameters().Single(p => p.name == "root.conv.weight").parameter.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Input_of_the_wrong_shape_is_refused_with_the_shape()
    {
        using var model = BitResNet.Create(BitArchitecture.Parse("R1-1-1-1x0.5"), 3);
        using var x = zeros(2, 1, 32, 32);
        var e = Assert.Throws<ArgumentException>(() => model.forward(x));
        Assert.Contains("[2, 1, 32, 32]", e.Message, StringComparison.Ordinal);
    }
}
