using System.Globalization;
using System.Text.Json.Nodes;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// Runs every query of the chart's Grafana dashboard against a real Prometheus as Grafana would over a time range
/// (<c>query_range</c>, with the dashboard's variables at their defaults) and keeps the answers: the series a
/// picture of the dashboard is drawn from (tools/DashboardPicture, docs/metrics.md).
/// </summary>
internal static class DashboardRecording
{
    /// <summary>Where <c>scripts/record-dashboard.sh</c> wants the recording written; unset in the suite.</summary>
    public const string OutputVariable = "BIT_DASHBOARD_RECORDING";

    public static string DashboardPath => Path.Combine(RepoPaths.Chart, "files", "dashboards", "bit-operator.json");

    /// <summary>Grafana's variables at the dashboard's defaults: all namespaces; a rate window of four 1 s scrapes.</summary>
    public static string Substitute(string expr) =>
        expr.Replace("$namespace", ".*", StringComparison.Ordinal).Replace("$__rate_interval", "4s", StringComparison.Ordinal);

    public static async Task<JsonObject> RecordAsync(HttpClient http, int port, DateTimeOffset start, DateTimeOffset end)
    {
        var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(DashboardPath))!;
        var panels = new JsonArray();
        foreach (var panel in dashboard["panels"]!.AsArray())
        {
            var targets = new JsonArray();
            foreach (var target in panel!["targets"]?.AsArray() ?? [])
            {
                var expr = (string)target!["expr"]!;
                var query = Substitute(expr);
                var url = $"http://127.0.0.1:{port}/api/v1/query_range?query={Uri.EscapeDataString(query)}"
                    + $"&start={start.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}&end={end.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}&step=1";
                var answer = JsonNode.Parse(await http.GetStringAsync(new Uri(url)))!;
                Assert.True((string?)answer["status"] == "success", $"{panel["title"]}: {query}: {answer.ToJsonString()}");
                targets.Add(new JsonObject
                {
                    ["expr"] = expr,
                    ["query"] = query,
                    ["legendFormat"] = target["legendFormat"]?.DeepClone(),
                    ["result"] = answer["data"]!["result"]!.DeepClone(),
                });
            }

            panels.Add(new JsonObject
            {
                ["title"] = panel["title"]?.DeepClone(),
                ["type"] = panel["type"]?.DeepClone(),
                ["unit"] = panel["fieldConfig"]?["defaults"]?["unit"]?.DeepClone(),
                ["gridPos"] = panel["gridPos"]?.DeepClone(),
                ["targets"] = targets,
            });
        }

        return new JsonObject
        {
            // Every local pod is 127.0.0.1 and the trainers share one metrics port: short's trainer is scraped while it
            // runs, then healthy's (stopped's never holds the port); the operator reports every job's series.
            ["source"] = "PrometheusAlertEndToEndTests: operator with jobs short (killed once), healthy, stopped (SIGSTOP); trainers short then healthy; 1 s scrapes",
            ["dashboard"] = "charts/bit-operator/files/dashboards/bit-operator.json",
            ["start"] = start.ToUnixTimeSeconds(),
            ["end"] = end.ToUnixTimeSeconds(),
            ["step"] = 1,
            ["panels"] = panels,
        };
    }

    /// <summary>The titles of the panels whose queries returned at least one series.</summary>
    public static IReadOnlyList<string> PanelsWithData(JsonObject recording) =>
        [.. recording["panels"]!.AsArray()
            .Where(p => p!["targets"]!.AsArray().Any(t => t!["result"]!.AsArray().Count > 0))
            .Select(p => (string)p!["title"]!)];
}
