using System.Text.RegularExpressions;
using BiT.Chart.Tests.Support;

namespace BiT.Chart.Tests.Docs;

/// <summary>
/// The layout sections of the docs name what is there, so that they cannot go stale silently: every folder of the
/// repository in README.md, every folder of the test cluster in docs/emulator.md, and every folder and every top-level
/// type file of the operator in docs/operator.md.
/// </summary>
public sealed class DocLayoutTests
{
    // Build and run output, never committed.
    private static readonly string[] Untracked = ["bin", "obj", "TestResults", "runs"];

    [Fact]
    public void ReadmeLayoutNamesEveryTopLevelFolderAndEverySourceProject()
    {
        var layout = Section(Path.Combine(Repo.Root, "README.md"), "Layout");
        var missing = Folders(Repo.Root).Select(d => $"`{d}/")
            .Concat(Folders(Path.Combine(Repo.Root, "src")).Select(d => $"`src/{d}/`"))
            .Where(name => !layout.Contains(name, StringComparison.Ordinal))
            .ToList();
        Assert.True(missing.Count == 0, $"README.md's layout does not name {string.Join(", ", missing)}");
    }

    [Fact]
    public void EmulatorLayoutNamesEveryFolder()
    {
        var layout = Section(Path.Combine(Repo.Docs, "emulator.md"), "Code layout");
        var missing = Folders(Path.Combine(Repo.Root, "tests", "KubeEmulator")).Select(d => $"`{d}/`")
            .Where(name => !layout.Contains(name, StringComparison.Ordinal))
            .ToList();
        Assert.True(missing.Count == 0, $"docs/emulator.md's layout does not name {string.Join(", ", missing)}");
    }

    [Fact]
    public void OperatorLayoutNamesEveryFolderAndTypeFile()
    {
        var layout = Section(Path.Combine(Repo.Docs, "operator.md"), "Layout");
        var src = Path.Combine(Repo.Root, "src", "Operator");
        var missing = new List<string>();
        foreach (var folder in Folders(src))
        {
            if (!layout.Contains($"`src/Operator/{folder}/`", StringComparison.Ordinal))
            {
                missing.Add($"src/Operator/{folder}/");
            }

            missing.AddRange(Directory.GetFiles(Path.Combine(src, folder), "*.cs")
                .Select(Path.GetFileNameWithoutExtension)
                .Where(type => !Regex.IsMatch(layout, $@"`[^`]*\b{Regex.Escape(type!)}\b[^`]*`"))!);
        }

        Assert.True(missing.Count == 0, $"docs/operator.md's layout does not name {string.Join(", ", missing)}");
    }

    [Fact]
    public void SectionEndsAtTheNextHeading()
    {
        var file = Path.Combine(Path.GetTempPath(), $"layout-{Guid.NewGuid():N}.md");
        File.WriteAllText(file, "# t\n## Layout\n| `a/` | x |\n## Next\n| `b/` | y |\n");
        try
        {
            var layout = Section(file, "Layout");
            Assert.Contains("`a/`", layout);
            Assert.DoesNotContain("`b/`", layout);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The text under <c>## {heading}</c> (or <c>## {heading} (…)</c>) up to the next heading of level 2 or above.</summary>
    internal static string Section(string file, string heading)
    {
        var lines = File.ReadAllLines(file);
        var start = Array.FindIndex(lines, l => l.Trim() == $"## {heading}" || l.StartsWith($"## {heading} (", StringComparison.Ordinal));
        Assert.True(start >= 0, $"{file} has no '## {heading}' section");
        var end = Array.FindIndex(lines, start + 1, l => l.StartsWith("# ", StringComparison.Ordinal) || l.StartsWith("## ", StringComparison.Ordinal));
        return string.Join('\n', lines[(start + 1)..(end < 0 ? lines.Length : end)]);
    }

    /// <summary>The folders under <paramref name="dir"/> that hold committed files (not hidden, not build or run output).</summary>
    private static IEnumerable<string> Folders(string dir) =>
        Directory.GetDirectories(dir)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => !name.StartsWith('.') && !Untracked.Contains(name))
            .Order(StringComparer.Ordinal);
}
