using System.Text.Json.Nodes;
using BiT.Chart.Tests.Support;
using BiT.Monitoring.DashboardPicture;

namespace BiT.Chart.Tests.Monitoring;

/// <summary>
/// docs/dashboard: the recording (real series from PrometheusAlertEndToEndTests, scripts/record-dashboard.sh) answers
/// the dashboard as it is now, and the picture is drawn from it.
/// </summary>
public sealed class DashboardPictureTests
{
    private static string Recorded => Path.Combine(Repo.Docs, "dashboard", "recording.json");

    [Fact]
    public void The_recording_holds_the_answers_to_every_query_of_the_current_dashboard()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.Chart, "files", "dashboards", "bit-operator.json")))!;
        var recording = JsonNode.Parse(File.ReadAllText(Recorded))!;
        static IEnumerable<(string?, string?)> Queries(JsonNode root) =>
            root["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray().Select(t => ((string?)p["title"], (string?)t!["expr"])));
        Assert.True(Queries(dashboard).SequenceEqual(Queries(recording)), "the dashboard changed since docs/dashboard/recording.json was recorded: run scripts/record-dashboard.sh");
        Assert.True((long)recording["end"]! - (long)recording["start"]! >= 30);
    }

    [Fact]
    public void The_picture_is_drawn_from_the_recorded_series_and_says_no_data_where_there_is_none()
    {
        var recording = Recording.Load(Recorded);
        Assert.Equal(12, recording.Panels.Count);
        var seconds = recording.Panels.Single(p => p.Title == "Seconds since progress (running jobs)");
        // The stopped trainer's seconds without progress climb past the alert threshold the test sets (25 s).
        Assert.True(seconds.Series.Single(s => s.Legend == "e2e/stopped").Samples.Max(s => s.Value) >= 25);
        Assert.Contains(recording.Panels.Single(p => p.Title == "Images per second").Series, s => s.Legend == "e2e/healthy" && s.Samples.Any(v => v.Value > 0));

        var png = DashboardRenderer.Render(recording);
        using var bitmap = SkiaSharp.SKBitmap.Decode(png);
        Assert.Equal(1800, bitmap.Width);
        Assert.True(bitmap.Height > 600);
        Assert.True(File.Exists(Path.Combine(Repo.Docs, "dashboard", "bit-operator.png")));
    }

    [Fact]
    public void Legends_follow_grafanas_legend_format()
    {
        var labels = new Dictionary<string, string> { ["namespace"] = "ml", ["name"] = "pets" };
        Assert.Equal("ml/pets", Recording.Legend("{{namespace}}/{{name}}", labels));
        Assert.Equal("p99 ", Recording.Legend("p99 {{kind}}", labels));
        Assert.Equal("namespace=ml, name=pets", Recording.Legend(null, labels));
    }
}
