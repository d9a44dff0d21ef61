using System.Text.RegularExpressions;
using BiT.Operator.Hosting;
using BiT.Operator.Tests.EndToEnd;

namespace BiT.Operator.Tests.Hosting;

/// <summary>The flags docs/operator.md lists for each command and the flags bit-operator takes are one set.</summary>
public sealed partial class DocumentedFlagsTests
{
    [Theory]
    [InlineData("run")]
    [InlineData("crds")]
    public void The_docs_and_the_parser_name_the_same_flags(string command)
    {
        var taken = CommandLine.FlagNames()[command].Order(StringComparer.Ordinal).ToList();

        // The usage block: a line starting with the command, and the lines indented under it.
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.Root, "docs", "operator.md"));
        var start = Array.FindIndex(lines, l => l.StartsWith($"bit-operator {command} ", StringComparison.Ordinal));
        Assert.True(start >= 0, $"docs/operator.md has no usage line for {command}");
        var usage = lines.Skip(start).Take(1).Concat(lines.Skip(start + 1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal)));
        var documented = usage.SelectMany(l => Flag().Matches(l).Select(m => m.Value)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(taken, documented);
    }

    [Fact]
    public void Both_commands_are_documented_and_parsed()
    {
        Assert.Equal(["crds", "run"], CommandLine.FlagNames().Keys.Order(StringComparer.Ordinal));
    }

    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9-]*")]
    private static partial Regex Flag();
}
