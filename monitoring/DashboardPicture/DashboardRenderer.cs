using System.Globalization;
using SkiaSharp;

namespace BiT.Monitoring.DashboardPicture;

/// <summary>
/// Lays the panels out on Grafana's grid (24 columns, 30 px rows) and draws them: time series with ScottPlot, a bar
/// gauge and a stat as Grafana shows them (the latest value of each series). Every value drawn comes from the
/// recording; a panel whose queries answered nothing says "No data", as Grafana does.
/// </summary>
public static class DashboardRenderer
{
    private const int Width = 1800;
    private const int RowHeight = 30;
    private const int Header = 56;
    private const int Gap = 6;

    public static byte[] Render(Recording recording)
    {
        ArgumentNullException.ThrowIfNull(recording);
        var rows = recording.Panels.Max(p => p.Y + p.Height);
        var height = Header + (rows * RowHeight) + Gap;
        using var surface = SKSurface.Create(new SKImageInfo(Width, height));
        var canvas = surface.Canvas;
        canvas.Clear(new SKColor(0xF4, 0xF5, 0xF5));
        using var font = new SKFont(SKTypeface.Default, 22);
        using var small = new SKFont(SKTypeface.Default, 14);
        using var ink = new SKPaint { Color = new SKColor(0x20, 0x22, 0x26), IsAntialias = true };
        using var grey = new SKPaint { Color = new SKColor(0x60, 0x64, 0x6C), IsAntialias = true };
        canvas.DrawText("BiT operator (charts/bit-operator/files/dashboards/bit-operator.json)", Gap * 2, 26, font, ink);
        var started = DateTimeOffset.FromUnixTimeSeconds(recording.Start).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        canvas.DrawText($"{recording.End - recording.Start} s recorded from a real Prometheus from {started} UTC: {recording.Source}", Gap * 2, 46, small, grey);

        var column = (Width - Gap) / 24f;
        foreach (var panel in recording.Panels)
        {
            var rect = SKRect.Create(
                Gap + (panel.X * column), Header + (panel.Y * RowHeight),
                (panel.Width * column) - Gap, (panel.Height * RowHeight) - Gap);
            using var image = panel.Type switch
            {
                "timeseries" when panel.Series.Count > 0 => TimeSeries(panel, recording, (int)rect.Width, (int)rect.Height),
                _ => null,
            };
            if (image is not null)
            {
                canvas.DrawBitmap(image, rect);
                continue;
            }

            DrawFrame(canvas, panel, rect);
            if (panel.Series.Count == 0)
            {
                using var none = new SKFont(SKTypeface.Default, 20);
                canvas.DrawText("No data", rect.MidX, rect.MidY, SKTextAlign.Center, none, grey);
            }
            else if (panel.Type == "bargauge")
            {
                DrawBars(canvas, panel, rect);
            }
            else
            {
                DrawStat(canvas, panel, rect);
            }
        }

        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static SKBitmap TimeSeries(Panel panel, Recording recording, int width, int height)
    {
        var plot = new ScottPlot.Plot();
        plot.Title(panel.Title, size: 15);
        var (scale, unit) = Scale(panel);
        foreach (var series in panel.Series)
        {
            var xs = series.Samples.Select(s => (double)(s.Time - recording.Start)).ToArray();
            var ys = series.Samples.Select(s => s.Value * scale).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.LegendText = series.Legend.Length > 0 ? series.Legend : panel.Title;
        }

        plot.Axes.SetLimitsX(0, recording.End - recording.Start);
        plot.XLabel("seconds", size: 12);
        if (unit.Length > 0)
        {
            plot.YLabel(unit, size: 12);
        }

        plot.Legend.FontSize = 11;
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        return SKBitmap.Decode(plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png));
    }

    /// <summary>Grafana's units, as the axis would show them.</summary>
    private static (double Scale, string Unit) Scale(Panel panel) => panel.Unit switch
    {
        "percentunit" => (100, "%"),
        "bytes" => (1.0 / (1024 * 1024), "MiB"),
        "s" => (1, "seconds"),
        "ops" => (1, "per second"),
        _ => (1, ""),
    };

    private static void DrawFrame(SKCanvas canvas, Panel panel, SKRect rect)
    {
        using var white = new SKPaint { Color = SKColors.White };
        using var border = new SKPaint { Color = new SKColor(0xD0, 0xD3, 0xD8), Style = SKPaintStyle.Stroke };
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var title = new SKFont(SKTypeface.FromFamilyName(null, SKFontStyle.Bold), 15);
        canvas.DrawRect(rect, white);
        canvas.DrawRect(rect, border);
        canvas.DrawText(panel.Title, rect.MidX, rect.Top + 22, SKTextAlign.Center, title, ink);
    }

    /// <summary>Grafana's bar gauge: the latest value of each series, 0..1 as a filled bar.</summary>
    private static void DrawBars(SKCanvas canvas, Panel panel, SKRect rect)
    {
        var (scale, unit) = Scale(panel);
        var rows = panel.Series.OrderBy(s => s.Legend, StringComparer.Ordinal).ToList();
        var band = Math.Min(44f, (rect.Height - 44) / rows.Count);
        using var label = new SKFont(SKTypeface.Default, 14);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var track = new SKPaint { Color = new SKColor(0xEC, 0xEE, 0xF0) };
        using var fill = new SKPaint { Color = new SKColor(0x73, 0xBF, 0x69) };
        for (var i = 0; i < rows.Count; i++)
        {
            var value = rows[i].Samples.Count > 0 ? rows[i].Samples[^1].Value : 0;
            var top = rect.Top + 40 + (i * band);
            canvas.DrawText(rows[i].Legend, rect.Left + 10, top + 14, label, ink);
            var bar = SKRect.Create(rect.Left + 10, top + 18, rect.Width - 90, band - 24);
            canvas.DrawRect(bar, track);
            canvas.DrawRect(SKRect.Create(bar.Left, bar.Top, bar.Width * (float)Math.Clamp(value, 0, 1), bar.Height), fill);
            canvas.DrawText((value * scale).ToString("0.0", CultureInfo.InvariantCulture) + unit, rect.Right - 12, bar.MidY + 5, SKTextAlign.Right, label, ink);
        }
    }

    /// <summary>Grafana's stat: the latest value of each series, large, with its legend.</summary>
    private static void DrawStat(SKCanvas canvas, Panel panel, SKRect rect)
    {
        using var big = new SKFont(SKTypeface.FromFamilyName(null, SKFontStyle.Bold), 44);
        using var label = new SKFont(SKTypeface.Default, 14);
        using var green = new SKPaint { Color = new SKColor(0x37, 0x87, 0x2D), IsAntialias = true };
        using var grey = new SKPaint { Color = new SKColor(0x60, 0x64, 0x6C), IsAntialias = true };
        var width = rect.Width / panel.Series.Count;
        for (var i = 0; i < panel.Series.Count; i++)
        {
            var series = panel.Series[i];
            var value = series.Samples.Count > 0 ? series.Samples[^1].Value : double.NaN;
            var x = rect.Left + (width * (i + 0.5f));
            canvas.DrawText(value.ToString("0.##", CultureInfo.InvariantCulture), x, rect.MidY + 18, SKTextAlign.Center, big, green);
            canvas.DrawText(series.Legend, x, rect.MidY + 44, SKTextAlign.Center, label, grey);
        }
    }
}
