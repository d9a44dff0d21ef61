using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace BiT.Monitoring.DashboardPicture;

/// <summary>One series of a panel: its legend (the target's legendFormat filled from its labels) and its samples.</summary>
public sealed record Series(string Legend, IReadOnlyList<(long Time, double Value)> Samples);

/// <summary>One panel as recorded: Grafana's type, title, unit and grid position, and its series.</summary>
public sealed record Panel(string Title, string Type, string? Unit, int X, int Y, int Width, int Height, IReadOnlyList<Series> Series);

/// <summary>
/// What tests/BiT.Operator.Tests/EndToEnd/DashboardRecording.cs writes: every dashboard query's <c>query_range</c>
/// answer from a real Prometheus.
/// </summary>
public sealed partial record Recording(string Source, long Start, long End, IReadOnlyList<Panel> Panels)
{
    public static Recording Load(string path) => Parse(File.ReadAllText(path));

    public static Recording Parse(string json)
    {
        var root = JsonNode.Parse(json) ?? throw new InvalidDataException("empty recording");
        var panels = new List<Panel>();
        foreach (var p in root["panels"]?.AsArray() ?? throw new InvalidDataException("no panels"))
        {
            var series = new List<Series>();
            foreach (var target in p!["targets"]!.AsArray())
            {
                var format = (string?)target!["legendFormat"];
                foreach (var result in target["result"]!.AsArray())
                {
                    var labels = result!["metric"]!.AsObject().ToDictionary(kv => kv.Key, kv => (string?)kv.Value ?? "");
                    var samples = result["values"]!.AsArray()
                        .Select(v => ((long)(double)v![0]!, double.Parse((string)v[1]!, CultureInfo.InvariantCulture)))
                        .ToList();
                    series.Add(new Series(Legend(format, labels), samples));
                }
            }

            var grid = p["gridPos"]!;
            panels.Add(new Panel((string)p["title"]!, (string)p["type"]!, (string?)p["unit"], (int)grid["x"]!, (int)grid["y"]!, (int)grid["w"]!, (int)grid["h"]!, series));
        }

        return new Recording((string?)root["source"] ?? "", (long)root["start"]!, (long)root["end"]!, panels);
    }

    /// <summary>Grafana's legend: <c>{{label}}</c> replaced by the series' label value.</summary>
    public static string Legend(string? format, IReadOnlyDictionary<string, string> labels) =>
        string.IsNullOrEmpty(format)
            ? string.Join(", ", labels.Select(kv => $"{kv.Key}={kv.Value}"))
            : LabelReference().Replace(format, m => labels.TryGetValue(m.Groups[1].Value, out var v) ? v : "");

    [GeneratedRegex(@"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")]
    private static partial Regex LabelReference();
}
