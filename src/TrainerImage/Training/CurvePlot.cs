using System.Globalization;
using SkiaSharp;

namespace BiT.Trainer.Training;

/// <summary>Draws the loss and top-1 accuracy curves side by side into a PNG (SkiaSharp; no plotting dependency).</summary>
public static class CurvePlot
{
    private const int PanelWidth = 560;
    private const int Height = 380;
    private const int Margin = 52;

    public static void Save(string path, IReadOnlyList<(int Step, double Value)> loss, IReadOnlyList<(int Step, double Value)> top1, string title)
    {
        var info = new SKImageInfo(PanelWidth * 2, Height);
        using var surface = SKSurface.Create(info);
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 14);
        using var textPaint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        canvas.DrawText(title, 12, 20, font, textPaint);
        // Both panels share the step axis so an evaluation lines up with the loss at that step.
        var steps = loss.Select(p => p.Step).Concat(top1.Select(p => p.Step)).DefaultIfEmpty(0).ToList();
        var xRange = (Min: (double)Math.Min(0, steps.Min()), Max: (double)Math.Max(steps.Max(), 1));
        Panel(canvas, 0, "training loss", loss, new SKColor(31, 119, 180), font, textPaint, fixedRange: null, xRange);
        Panel(canvas, PanelWidth, "test top-1", top1, new SKColor(214, 39, 40), font, textPaint, fixedRange: (0, 1), xRange);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllBytes(path, data.ToArray());
    }

    private static void Panel(SKCanvas canvas, int left, string label, IReadOnlyList<(int Step, double Value)> points, SKColor color, SKFont font, SKPaint textPaint, (double Min, double Max)? fixedRange, (double Min, double Max) xRange)
    {
        var plot = new SKRect(left + Margin, 40, left + PanelWidth - 16, Height - Margin);
        using var axis = new SKPaint { Color = SKColors.Gray, StrokeWidth = 1, Style = SKPaintStyle.Stroke, IsAntialias = true };
        canvas.DrawRect(plot, axis);
        canvas.DrawText(label, plot.Left, plot.Top - 6, font, textPaint);
        var finite = points.Where(p => double.IsFinite(p.Value)).ToList();
        if (finite.Count == 0)
        {
            canvas.DrawText("no data yet", plot.MidX - 40, plot.MidY, font, textPaint);
            return;
        }
        var (minY, maxY) = fixedRange ?? (finite.Min(p => p.Value), finite.Max(p => p.Value));
        if (maxY - minY < 1e-9)
        {
            maxY = minY + 1;
        }
        var (minX, maxX) = xRange;
        SKPoint Map((int Step, double Value) p) => new(
            (float)(plot.Left + ((p.Step - minX) / (maxX - minX) * plot.Width)),
            (float)(plot.Bottom - ((p.Value - minY) / (maxY - minY) * plot.Height)));
        using var line = new SKPaint { Color = color, StrokeWidth = 2, Style = SKPaintStyle.Stroke, IsAntialias = true };
        using var path = new SKPath();
        path.MoveTo(Map(finite[0]));
        foreach (var p in finite.Skip(1))
        {
            path.LineTo(Map(p));
        }
        canvas.DrawPath(path, line);
        if (finite.Count == 1)
        {
            using var dot = new SKPaint { Color = color, IsAntialias = true };
            canvas.DrawCircle(Map(finite[0]), 4, dot);
        }
        string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        canvas.DrawText(F(maxY), left + 4, plot.Top + 12, font, textPaint);
        canvas.DrawText(F(minY), left + 4, plot.Bottom, font, textPaint);
        canvas.DrawText($"step {F(minX)}", plot.Left, plot.Bottom + 18, font, textPaint);
        canvas.DrawText($"step {F(maxX)}", plot.Right - 80, plot.Bottom + 18, font, textPaint);
    }
}
