using System.Diagnostics;
using System.Reflection;

namespace BiT.Operator.Tests.Hosting;

/// <summary>The real entry point (<c>dotnet bit-operator.dll</c>, Program's top-level Main): exit codes and what it prints.</summary>
public sealed class EntryPointTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bit-operator.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Theory]
    [InlineData("run", "--no-such-flag")]
    [InlineData("crds", "--no-such-flag")]
    [InlineData("--no-such-flag")]
    public async Task An_unknown_flag_exits_2_naming_the_flag(params string[] args)
    {
        var (code, output, error) = await Run(args);
        Assert.True(code == 2, $"exit {code}\n{output}\n{error}");
        Assert.Contains("bit-operator: ", error, StringComparison.Ordinal);
        Assert.Contains("--no-such-flag", error, StringComparison.Ordinal);
        Assert.Contains("--help' for usage", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_value_exits_2_naming_its_flag()
    {
        var (code, _, error) = await Run("run", "--parallelism", "many");
        Assert.Equal(2, code);
        Assert.Contains("--parallelism", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_and_help_exit_0()
    {
        var expected = typeof(BiT.Operator.Hosting.CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        var version = await Run("--version");
        Assert.Equal(0, version.Code);
        Assert.StartsWith(expected, version.Out.Trim(), StringComparison.Ordinal);

        var help = await Run("run", "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("--kubeconfig", help.Out, StringComparison.Ordinal);
    }
}
