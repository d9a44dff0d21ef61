using System.Text;
using System.Text.RegularExpressions;
using BiT.Chart.Tests.Support;

namespace BiT.Chart.Tests.Chart;

/// <summary>Every value is documented in values.yaml (`# --` comments), and the chart README's table is generated from them.</summary>
public sealed partial class ChartReadmeTests
{
    private static readonly string ValuesFile = Path.Combine(Repo.Chart, "values.yaml");
    private static readonly string ReadmeFile = Path.Combine(Repo.Chart, "README.md");

    internal sealed record Row(string Path, string Default, string Description);

    /// <summary>
    /// The documented values: a key with a `# --` comment right above it is one row (its children, if any, belong to
    /// it); a key without one must be a plain parent of documented keys, or the file is rejected.
    /// </summary>
    internal static IReadOnlyList<Row> Rows(string[] lines, List<string> undocumented)
    {
        var rows = new List<Row>();
        var stack = new List<(int Indent, string Key)>();
        int? documentedIndent = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var m = KeyLine().Match(lines[i]);
            if (!m.Success)
            {
                continue;
            }

            var indent = m.Groups[1].Value.Length;
            var key = m.Groups[2].Value;
            var value = StripComment(m.Groups[3].Value).Trim();
            if (documentedIndent is { } d && indent > d)
            {
                continue;
            }

            documentedIndent = null;
            stack.RemoveAll(s => s.Indent >= indent);
            var path = string.Join('.', stack.Select(s => s.Key).Append(key));
            stack.Add((indent, key));

            var doc = DocAbove(lines, i);
            if (doc is not null)
            {
                rows.Add(new Row(path, value.Length == 0 ? "see values.yaml" : value, doc));
                if (value.Length == 0)
                {
                    documentedIndent = indent;
                }
            }
            else if (value.Length > 0)
            {
                undocumented.Add(path);
            }
        }

        return rows;
    }

    private static string StripComment(string s)
    {
        var inQuote = false;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '"')
            {
                inQuote = !inQuote;
            }
            else if (s[i] == '#' && !inQuote && (i == 0 || s[i - 1] == ' '))
            {
                return s[..i];
            }
        }

        return s;
    }

    private static string? DocAbove(string[] lines, int keyLine)
    {
        var comment = new List<string>();
        for (var j = keyLine - 1; j >= 0 && lines[j].TrimStart().StartsWith('#'); j--)
        {
            comment.Insert(0, lines[j].Trim());
        }

        var start = comment.FindIndex(c => c.StartsWith("# --", StringComparison.Ordinal));
        return start < 0 ? null : string.Join(' ', comment.Skip(start).Select((c, k) => k == 0 ? c[4..].Trim() : c.TrimStart('#').Trim()));
    }

    internal static string Table(IReadOnlyList<Row> rows)
    {
        var b = new StringBuilder("| value | default | what |\n| --- | --- | --- |\n");
        foreach (var r in rows)
        {
            b.Append(CultureInvariant($"| `{r.Path}` | `{r.Default.Replace("|", "\\|", StringComparison.Ordinal)}` | {r.Description.Replace("|", "\\|", StringComparison.Ordinal)} |\n"));
        }

        return b.ToString();
    }

    private static string CultureInvariant(FormattableString s) => FormattableString.Invariant(s);

    [Fact]
    public void Every_value_is_documented_and_the_readme_table_is_generated_from_values_yaml()
    {
        var undocumented = new List<string>();
        var rows = Rows(File.ReadAllLines(ValuesFile), undocumented);
        Assert.True(undocumented.Count == 0, "values without a `# --` comment: " + string.Join(", ", undocumented));
        Assert.Contains(rows, r => r.Path == "prometheusRule.alerts.stalled.secondsWithoutProgress");

        var readme = File.ReadAllText(ReadmeFile);
        const string begin = "<!-- values:begin -->\n";
        const string end = "<!-- values:end -->";
        var from = readme.IndexOf(begin, StringComparison.Ordinal) + begin.Length;
        var to = readme.IndexOf(end, StringComparison.Ordinal);
        Assert.True(from >= begin.Length && to >= from, "README.md lacks the values markers");
        var expected = readme[..from] + Table(rows) + readme[to..];
        if (Environment.GetEnvironmentVariable("BIT_UPDATE_GENERATED") == "1")
        {
            File.WriteAllText(ReadmeFile, expected);
        }

        Assert.True(expected == File.ReadAllText(ReadmeFile), "charts/bit-operator/README.md is out of date with values.yaml: run BIT_UPDATE_GENERATED=1 dotnet test tests/BiT.Chart.Tests --filter ChartReadmeTests");
    }

    [Fact]
    public void A_value_without_a_comment_is_reported()
    {
        var undocumented = new List<string>();
        var rows = Rows(["# -- documented", "a: 1", "parent:", "  # -- child", "  child: x", "  orphan: 2", "# -- block", "block:", "  inner: 3"], undocumented);
        Assert.Equal(["parent.orphan"], undocumented);
        Assert.Equal(["a", "parent.child", "block"], rows.Select(r => r.Path));
        Assert.Equal("see values.yaml", rows[2].Default);
    }

    [GeneratedRegex(@"^(\s*)([A-Za-z0-9_]+):(.*)$")]
    private static partial Regex KeyLine();
}
