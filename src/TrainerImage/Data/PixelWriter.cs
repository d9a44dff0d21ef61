namespace BiT.Trainer.Data;

/// <summary>Copies a window of a float HWC image into CHW, optionally mirrored, with pixels scaled from [0, 255] to [-1, 1].</summary>
internal static class PixelWriter
{
    public static void WriteWindow(float[] hwc, int width, int channels, int top, int left, int size, bool flip, Span<float> destination)
    {
        var plane = size * size;
        for (var c = 0; c < 3; c++)
        {
            var srcC = channels == 1 ? 0 : c;
            for (var y = 0; y < size; y++)
            {
                var rowBase = (top + y) * width;
                var dest = destination.Slice((c * plane) + (y * size), size);
                for (var x = 0; x < size; x++)
                {
                    var sx = left + (flip ? size - 1 - x : x);
                    dest[x] = (hwc[((rowBase + sx) * channels) + srcC] / 127.5f) - 1f;
                }
            }
        }
    }
}
