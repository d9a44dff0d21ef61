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

        // The short job progressed to the end, restarted once and evaluated: the panels say so.
        Assert.Contains(recording.Panels.Single(p => p.Title == "Progress per job").Series, s => s.Legend == "e2e/short" && s.Samples.Max(v => v.Value) == 1);
        Assert.Contains(recording.Panels.Single(p => p.Title == "Top-1 accuracy").Series, s => s.Legend == "e2e/short" && s.Samples.Max(v => v.Value) > 0);
        Assert.Contains(recording.Panels.Single(p => p.Title == "Restarts by reason").Series, s => s.Samples.Max(v => v.Value) >= 1);

        var png = DashboardRenderer.Render(recording);
        using var bitmap = SkiaSharp.SKBitmap.Decode(png);
        Assert.Equal(1800, bitmap.Width);
        Assert.True(bitmap.Height > 600);
        Assert.True(File.Exists(Path.Combine(Repo.Docs, "dashboard", "bit-operator.png")));
    }

    [Fact]
    public void The_committed_picture_was_drawn_from_the_committed_recording()
    {
        // DashboardPicture stamps the SHA-256 of the recording it drew into the PNG (a tEXt chunk): a picture drawn from
        // another recording, or a recording changed without drawing the picture again, fails here.
        var png = File.ReadAllBytes(Path.Combine(Repo.Docs, "dashboard", "bit-operator.png"));
        var stamped = PngText.Read(png, PngText.RecordingSha256);
        Assert.True(stamped is not null, "docs/dashboard/bit-operator.png carries no recording hash: draw it with scripts/record-dashboard.sh (DashboardPicture)");
        Assert.True(stamped == PngText.Sha256Of(Recorded), "docs/dashboard/bit-operator.png was not drawn from docs/dashboard/recording.json: draw it again (DashboardPicture recording.json bit-operator.png)");
        using var bitmap = SkiaSharp.SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
    }

    [Fact]
    public void A_stamped_png_still_decodes_and_reads_back_its_text()
    {
        var png = DashboardRenderer.Render(Recording.Load(Recorded));
        Assert.Null(PngText.Read(png, PngText.RecordingSha256));
        var stamped = PngText.Stamp(png, PngText.RecordingSha256, "abc123");
        Assert.Equal("abc123", PngText.Read(stamped, PngText.RecordingSha256));
        Assert.Null(PngText.Read(stamped, "other"));
        using var bitmap = SkiaSharp.SKBitmap.Decode(stamped);
        Assert.Equal(1800, bitmap.Width);
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
