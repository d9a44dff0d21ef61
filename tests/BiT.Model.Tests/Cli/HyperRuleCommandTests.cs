using System.Text.Json;
using BiT.Model.Tests.TestSupport;

namespace BiT.Model.Tests.Cli;

public sealed class HyperRuleCommandTests
{
    private static readonly string[] Keys =
        ["precropSize", "cropSize", "warmupSteps", "decaySteps", "totalSteps", "mixupAlpha", "baseLearningRate"];

    private static async Task<JsonElement> RunJsonAsync(params string[] args)
    {
        var result = await TestSupport.Cli.RunAsync(["hyperrule", .. args]);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Single(result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(Keys, doc.RootElement.EnumerateObject().Select(p => p.Name));
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task Cifar_sized_task_gets_the_medium_schedule_at_low_resolution_with_mixup()
    {
        var json = await RunJsonAsync("--train-examples", "50000", "--image-size", "32x32");
        Assert.Equal(160, json.GetProperty("precropSize").GetInt32());
        Assert.Equal(128, json.GetProperty("cropSize").GetInt32());
        Assert.Equal(500, json.GetProperty("warmupSteps").GetInt32());
        Assert.Equal(new[] { 3000, 6000, 9000 }, json.GetProperty("decaySteps").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(10000, json.GetProperty("totalSteps").GetInt32());
        Assert.Equal(0.1, json.GetProperty("mixupAlpha").GetDouble());
        Assert.Equal(0.003, json.GetProperty("baseLearningRate").GetDouble());
    }

    [Theory]
    [InlineData("19999", "95x96", "reference", 128, 500, 0.0)]
    [InlineData("20000", "96x96", "reference", 480, 10000, 0.1)]
    [InlineData("500000", "500x375", "paper", 384, 20000, 0.1)]
    public async Task Boundaries_pass_through_to_the_rule(string examples, string size, string resolution, int crop, int total, double mixup)
    {
        var json = await RunJsonAsync("--train-examples", examples, "--image-size", size, "--batch-size", "128", "--resolution", resolution);
        Assert.Equal(crop, json.GetProperty("cropSize").GetInt32());
        Assert.Equal(total, json.GetProperty("totalSteps").GetInt32());
        Assert.Equal(mixup, json.GetProperty("mixupAlpha").GetDouble());
        Assert.Equal(0.003, json.GetProperty("baseLearningRate").GetDouble());
    }

    [Theory]
    [InlineData(new[] { "--image-size", "32x32" }, "missing required option '--train-examples'")]
    [InlineData(new[] { "--train-examples", "100" }, "missing required option '--image-size'")]
    [InlineData(new[] { "--train-examples", "many", "--image-size", "32x32" }, "'--train-examples' must be a whole number")]
    [InlineData(new[] { "--train-examples", "0", "--image-size", "32x32" }, "'--train-examples' must be at least 1")]
    [InlineData(new[] { "--train-examples", "10", "--image-size", "32" }, "HEIGHTxWIDTH")]
    [InlineData(new[] { "--train-examples", "10", "--image-size", "32x32", "--resolution", "huge" }, "'reference'")]
    [InlineData(new[] { "--train-examples", "10", "--image-size", "32x32", "--epochs", "3" }, "unknown option '--epochs'")]
    [InlineData(new[] { "--train-examples" }, "Required argument missing for option: '--train-examples'")]
    public async Task Usage_errors_say_what_was_wrong_and_exit_2(string[] args, string message)
    {
        var result = await TestSupport.Cli.RunAsync(["hyperrule", .. args]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.Contains("--help", result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Out);
    }
}
