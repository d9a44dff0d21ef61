using BiT.Model.Tests.TestSupport;

namespace BiT.Model.Tests.Cli;

public sealed class DispatcherTests
{
    [Fact]
    public async Task Every_command_answers_help_with_its_usage()
    {
        var names = BiT.Trainer.Program.Commands().Select(c => c.Name).ToList();
        Assert.Contains("predict", names);
        Assert.Contains("hyperrule", names);
        foreach (string name in names)
        {
            var result = await TestSupport.Cli.RunAsync(name, "--help");
            Assert.Equal(0, result.ExitCode);
            Assert.StartsWith($"usage: bit-trainer {name}", result.Out.TrimStart(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Overview_lists_the_commands()
    {
        var result = await TestSupport.Cli.RunAsync("--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("predict", result.Out, StringComparison.Ordinal);
        Assert.Contains("hyperrule", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_command_or_an_unknown_one_is_a_usage_error()
    {
        var none = await TestSupport.Cli.RunAsync();
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("no command given", none.Error, StringComparison.Ordinal);

        var unknown = await TestSupport.Cli.RunAsync("fly");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("unknown command 'fly'", unknown.Error, StringComparison.Ordinal);
    }
}
