using BiT.Model;
using BiT.Model.Tests.TestSupport;

namespace BiT.Model.Tests.Network;

public sealed class ParameterCountTests
{
    // The published counts with the 21,843-class head, in millions, to the precision the paper gives.
    [Theory]
    [InlineData("R50x1", 21843, 68.3)]
    [InlineData("R50x1", 1000, 25.5)]
    [InlineData("R50x3", 21843, 345)]
    [InlineData("R101x1", 21843, 87.2)]
    [InlineData("R101x3", 21843, 516)]
    [InlineData("R152x2", 21843, 322)]
    [InlineData("R152x4", 21843, 1107)]
    public void Counts_equal_the_published_ones(string name, int headSize, double millions)
    {
        long analytic = BitArchitecture.Parse(name).ParameterCount(headSize);
        int decimals = millions >= 100 ? 0 : 1;
        Assert.Equal(millions, Math.Round(analytic / 1e6, decimals));

        // The modules themselves, built on the meta device: shapes without memory, even for R152x4.
        using var meta = new MetaDevice();
        using var model = BitResNet.Create(BitArchitecture.Parse(name), headSize);
        Assert.Equal(analytic, model.CountParameters());
    }

    [Fact]
    public void Real_cpu_model_counts_the_same_as_the_formula()
    {
        using var model = BitResNet.Create(BitArchitecture.Custom([1, 2, 1, 1], 0.5), 10);
        Assert.Equal(model.Architecture.ParameterCount(10), model.CountParameters());
        Assert.All(model.parameters(), p => Assert.Equal(TorchSharp.DeviceType.CPU, p.device_type));
    }
}
