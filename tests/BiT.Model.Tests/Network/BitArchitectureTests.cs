using BiT.Model;

namespace BiT.Model.Tests.Network;

public sealed class BitArchitectureTests
{
    [Theory]
    [InlineData("R50x1", new[] { 3, 4, 6, 3 }, 1)]
    [InlineData("R50x3", new[] { 3, 4, 6, 3 }, 3)]
    [InlineData("R101x1", new[] { 3, 4, 23, 3 }, 1)]
    [InlineData("R101x3", new[] { 3, 4, 23, 3 }, 3)]
    [InlineData("R152x2", new[] { 3, 8, 36, 3 }, 2)]
    [InlineData("R152x4", new[] { 3, 8, 36, 3 }, 4)]
    public void Published_variants_have_the_paper_shapes(string name, int[] blocks, double width)
    {
        var arch = BitArchitecture.Parse(name);
        Assert.Equal(name, arch.Name);
        Assert.Equal(blocks, arch.Blocks);
        Assert.Equal(width, arch.WidthFactor);
        Assert.Equal((int)(64 * width), arch.RootChannels);
        Assert.Equal((int)(2048 * width), arch.FeatureChannels);
        Assert.Equal((int)(512 * width), arch.StageMidChannels(4));
    }

    [Theory]
    [InlineData("BiT-M-R50x1", "R50x1")]
    [InlineData("BiT-S-R50x1", "R50x1")]
    [InlineData("bit-m-r152x4.npz", "R152x4")]
    [InlineData(" r101x3 ", "R101x3")]
    [InlineData("R1-1-1-1x1", "R1-1-1-1x1")]
    [InlineData("R2-1-3-1x0.5", "R2-1-3-1x0.5")]
    public void Aliases_and_custom_shapes_parse(string text, string canonical)
    {
        Assert.Equal(canonical, BitArchitecture.Parse(text).Name);
    }

    [Fact]
    public void Custom_shape_keeps_blocks_and_width()
    {
        var arch = BitArchitecture.Custom([1, 2, 1, 1], 0.5);
        Assert.Equal(new[] { 1, 2, 1, 1 }, arch.Blocks);
        Assert.Equal(32, arch.RootChannels);
        Assert.Equal(1024, arch.FeatureChannels);
        Assert.Equal(arch, BitArchitecture.Parse("R1-2-1-1x0.5"));
    }

    [Theory]
    [InlineData(0.25)]
    [InlineData(0.75)]
    [InlineData(1.2)]
    public void Width_that_breaks_groupnorm_32_is_refused_with_the_reason(double width)
    {
        var e = Assert.Throws<ArgumentException>(() => BitArchitecture.Custom([1, 1, 1, 1], width));
        Assert.Contains("multiple of 32", e.Message, StringComparison.Ordinal);
        Assert.Contains("GroupNorm(32)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("R18x1")]
    [InlineData("ResNet50")]
    [InlineData("BiT-M-R50x2")]
    [InlineData("R1-1-1x1")]
    public void Unknown_names_list_the_known_ones(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => BitArchitecture.Parse(name));
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
        Assert.Contains("R152x4", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Zero_units_in_a_stage_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => BitArchitecture.Custom([1, 0, 1, 1], 1));
        Assert.Contains("at least 1", e.Message, StringComparison.Ordinal);
    }
}
