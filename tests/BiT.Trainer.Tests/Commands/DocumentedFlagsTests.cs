using System.Text.RegularExpressions;

namespace BiT.Trainer.Tests.Commands;

/// <summary>The flags docs/trainer.md lists, the flags each command takes and the flags its --help names are one set.</summary>
public sealed partial class DocumentedFlagsTests
{
    public static TheoryData<string> Commands() => [.. BiT.Trainer.Program.Commands().Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Commands))]
    public void The_docs_the_help_and_the_parser_name_the_same_flags(string name)
    {
        var command = BiT.Trainer.Program.Commands().Single(c => c.Name == name);
        var taken = command.Define().Options.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);

        var docs = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "docs", "trainer.md"))
            .SkipWhile(l => l != "## Command lines").Skip(1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal));
        var line = Assert.Single(docs, l => l.StartsWith($"bit-trainer {name} ", StringComparison.Ordinal));
        Assert.Equal(Sorted(taken), Sorted(Flags(line)));
        Assert.Equal(Sorted(taken), Sorted(Flags(command.Help)));
    }

    private static List<string> Sorted(IEnumerable<string> flags) => [.. flags.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    // Flags as written in usage text; "--help" is every command's and not an option of its own.
    private static IEnumerable<string> Flags(string text) =>
        Flag().Matches(text).Select(m => m.Value).Where(f => f != "--help");

    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9-]*")]
    private static partial Regex Flag();
}
