using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BiT.Chart.Tests.Support;

namespace BiT.Chart.Tests.Monitoring;

/// <summary>The Grafana dashboard: valid JSON, the panels the docs promise, and every query parsed by promtool.</summary>
public sealed partial class DashboardTests
{
    internal static readonly string DashboardFile = Path.Combine(Repo.Chart, "files", "dashboards", "bit-operator.json");

    /// <summary>Each panel's title with its queries, Grafana's variables replaced by what they stand for.</summary>
    internal static IReadOnlyList<(string Title, string Expr)> Queries()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(DashboardFile))!;
        return [.. dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray().Select(t => ((string)p["title"]!, Substitute((string)t!["expr"]!))))];
    }

    internal static string Substitute(string expr) => expr
        .Replace("$__rate_interval", "2m", StringComparison.Ordinal)
        .Replace("$namespace", ".*", StringComparison.Ordinal);

    [Fact]
    public void The_dashboard_has_the_panels_the_docs_promise_each_with_a_query_and_a_unique_place()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(DashboardFile))!.AsObject();
        Assert.Equal("bit-operator", (string?)dashboard["uid"]);
        var panels = dashboard["panels"]!.AsArray().Select(p => p!.AsObject()).ToList();
        var titles = panels.Select(p => (string)p["title"]!).ToList();
        foreach (var promised in new[]
        {
            "Jobs by phase", "Progress per job", "Images per second", "Training loss", "Top-1 accuracy", "Restarts by reason",
            "Seconds since progress (running jobs)", "Reconcile latency", "Reconciles by result", "Leader",
        })
        {
            Assert.Contains(promised, titles);
        }

        Assert.Equal(panels.Count, panels.Select(p => (long)p["id"]!).Distinct().Count());
        Assert.All(panels, p => Assert.NotEmpty(p["targets"]!.AsArray()));
        Assert.All(panels, p => Assert.Equal("${datasource}", (string?)p["datasource"]!["uid"]));
        // No two panels overlap on Grafana's 24-column grid.
        var cells = new HashSet<(long, long)>();
        foreach (var p in panels)
        {
            var g = p["gridPos"]!;
            for (var x = (long)g["x"]!; x < (long)g["x"]! + (long)g["w"]!; x++)
            {
                Assert.InRange(x, 0, 23);
                for (var y = (long)g["y"]!; y < (long)g["y"]! + (long)g["h"]!; y++)
                {
                    Assert.True(cells.Add((x, y)), $"panel {p["title"]} overlaps another at {x},{y}");
                }
            }
        }
    }

    [Fact]
    public async Task Every_query_parses_with_promtool_and_reads_only_series_the_operator_and_trainer_export()
    {
        var queries = Queries();
        var dir = Directory.CreateTempSubdirectory("bit-dashboard-").FullName;
        try
        {
            // promtool parses every expression of a rule file: each query becomes a recording rule.
            var file = Path.Combine(dir, "dashboard.rules.yaml");
            var rules = string.Join('\n', queries.Select((q, i) => $"      - record: dashboard:query{i}\n        expr: '{q.Expr.Replace("'", "''", StringComparison.Ordinal)}'"));
            await File.WriteAllTextAsync(file, "groups:\n  - name: dashboard\n    rules:\n" + rules + "\n");
            var check = (await Tool.Promtool.RunAsync("check", "rules", file)).Ok();
            Assert.Contains($"SUCCESS: {queries.Count} rules found", check.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        var metricsDoc = await File.ReadAllTextAsync(Path.Combine(Repo.Docs, "metrics.md"));
        foreach (var (title, expr) in queries)
        {
            foreach (var metric in MetricName().Matches(expr).Select(m => m.Value).Distinct())
            {
                var family = Regex.Replace(metric, "_(bucket|sum|count)$", "");
                Assert.True(metricsDoc.Contains($"`{family}`", StringComparison.Ordinal), $"panel {title} reads {metric}, which docs/metrics.md does not list");
            }
        }
    }

    [GeneratedRegex(@"\b(bit_[a-z_]+|process_[a-z_]+)\b")]
    private static partial Regex MetricName();
}
