using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BiT.Trainer.Data;

/// <summary>
/// Separable bilinear (triangle-filter) resizing of 8-bit HWC images into float HWC, with the filter widened when
/// shrinking so that downscaling averages instead of aliasing (as PIL's and torchvision's antialiased bilinear).
/// </summary>
public static class Resampler
{
    public static float[] Resize(RawImage src, int outHeight, int outWidth) =>
        Resize(src, 0, 0, src.Width, src.Height, outHeight, outWidth);

    /// <summary>Resizes the region [x0, x0+w) x [y0, y0+h) of <paramref name="src"/> to outHeight x outWidth.</summary>
    public static float[] Resize(RawImage src, int x0, int y0, int w, int h, int outHeight, int outWidth)
    {
        var c = src.Channels;
        var (xStart, xWeights) = Weights(x0, w, outWidth);
        var (yStart, yWeights) = Weights(y0, h, outHeight);
        var pixels = src.Pixels;

        // Horizontal pass over the rows of the region only.
        var temp = new float[h * outWidth * c];
        for (var y = 0; y < h; y++)
        {
            var rowOffset = (y0 + y) * src.Width * c;
            for (var ox = 0; ox < outWidth; ox++)
            {
                var ws = xWeights[ox];
                var start = xStart[ox];
                for (var ch = 0; ch < c; ch++)
                {
                    temp[(((y * outWidth) + ox) * c) + ch] = Tap(ws, pixels, rowOffset + (start * c) + ch, c);
                }
            }
        }

        var output = new float[outHeight * outWidth * c];
        var rowLength = outWidth * c;
        for (var oy = 0; oy < outHeight; oy++)
        {
            var ws = yWeights[oy];
            var start = yStart[oy] - y0;
            var outRow = output.AsSpan(oy * rowLength, rowLength);
            for (var k = 0; k < ws.Length; k++)
            {
                var weight = ws[k];
                var inRow = temp.AsSpan((start + k) * rowLength, rowLength);
                for (var i = 0; i < rowLength; i++)
                {
                    outRow[i] += weight * inRow[i];
                }
            }
        }
        return output;
    }

    /// <summary>
    /// The window [top, top+size) x [left, left+size) of <see cref="Resize(RawImage, int, int, int, int, int, int)"/>'s
    /// result, optionally mirrored, written as CHW floats in [-1, 1] (what <see cref="PixelWriter.WriteWindow"/> makes
    /// of it): the same arithmetic in the same order, so the same floats, but only the window's pixels are computed
    /// and the scratch rows are this thread's, so nothing is allocated per image in steady state.
    /// </summary>
    public static void ResizeWindow(
        RawImage src, int x0, int y0, int w, int h, int outHeight, int outWidth,
        int top, int left, int size, bool flip, Span<float> destination)
    {
        var c = src.Channels;
        var (xStart, xWeights) = CachedWeights(x0, w, outWidth);
        var (yStart, yWeights) = CachedWeights(y0, h, outHeight);
        var pixels = src.Pixels;

        // Source rows (relative to y0) that the window's output rows read.
        var firstRow = int.MaxValue;
        var lastRow = -1;
        for (var oy = top; oy < top + size; oy++)
        {
            firstRow = Math.Min(firstRow, yStart[oy] - y0);
            lastRow = Math.Max(lastRow, yStart[oy] - y0 + yWeights[oy].Length - 1);
        }
        var rowLength = size * c;
        var temp = Scratch(ref _rows, (lastRow - firstRow + 1) * rowLength);
        for (var y = firstRow; y <= lastRow; y++)
        {
            var rowOffset = (y0 + y) * src.Width * c;
            var tempRow = temp.AsSpan((y - firstRow) * rowLength, rowLength);
            for (var ox = left; ox < left + size; ox++)
            {
                var ws = xWeights[ox];
                var start = xStart[ox];
                for (var ch = 0; ch < c; ch++)
                {
                    tempRow[((ox - left) * c) + ch] = Tap(ws, pixels, rowOffset + (start * c) + ch, c);
                }
            }
        }

        var acc = Scratch(ref _accumulator, rowLength).AsSpan(0, rowLength);
        var plane = size * size;
        for (var oy = top; oy < top + size; oy++)
        {
            acc.Clear();
            var ws = yWeights[oy];
            var start = yStart[oy] - y0 - firstRow;
            for (var k = 0; k < ws.Length; k++)
            {
                AddScaled(acc, temp.AsSpan((start + k) * rowLength, rowLength), ws[k]);
            }
            var y = oy - top;
            for (var channel = 0; channel < 3; channel++)
            {
                var srcC = c == 1 ? 0 : channel;
                var dest = destination.Slice((channel * plane) + (y * size), size);
                for (var x = 0; x < size; x++)
                {
                    var sx = flip ? size - 1 - x : x;
                    dest[x] = (acc[(sx * c) + srcC] / 127.5f) - 1f;
                }
            }
        }
    }

    /// <summary>
    /// <c>acc[i] += weight * row[i]</c>, a SIMD vector at a time (the JIT does not vectorize loops): a multiply, then
    /// an add, rounded each, as the scalar loop of <see cref="Resize(RawImage, int, int, int, int, int, int)"/> does
    /// (no fused multiply-add), so the floats are the same.
    /// </summary>
    private static void AddScaled(Span<float> acc, ReadOnlySpan<float> row, float weight)
    {
        var accVectors = MemoryMarshal.Cast<float, Vector<float>>(acc);
        var rowVectors = MemoryMarshal.Cast<float, Vector<float>>(row);
        var scale = new Vector<float>(weight);
        for (var j = 0; j < accVectors.Length; j++)
        {
            accVectors[j] += scale * rowVectors[j];
        }
        for (var i = accVectors.Length * Vector<float>.Count; i < acc.Length; i++)
        {
            acc[i] += weight * row[i];
        }
    }

    /// <summary>
    /// One sample of the horizontal pass: the weighted sum of the taps from <paramref name="first"/> on, one pixel
    /// (<paramref name="stride"/> values) apart, added in tap order (both resizes must make the same floats).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tap(float[] weights, byte[] pixels, int first, int stride)
    {
        float sum = 0;
        for (var k = 0; k < weights.Length; k++)
        {
            sum += weights[k] * pixels[first + (k * stride)];
        }

        return sum;
    }

    [ThreadStatic]
    private static float[]? _rows;

    [ThreadStatic]
    private static float[]? _accumulator;

    [ThreadStatic]
    private static List<(int Origin, int In, int Out, int[] Start, float[][] Weights)>? _weightCache;

    private static float[] Scratch(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer = new float[length];
        }
        return buffer;
    }

    // Images of a dataset mostly share sizes, so the last few filters are kept per thread.
    private static (int[] Start, float[][] Weights) CachedWeights(int origin, int inSize, int outSize)
    {
        var cache = _weightCache ??= [];
        foreach (var entry in cache)
        {
            if (entry.Origin == origin && entry.In == inSize && entry.Out == outSize)
            {
                return (entry.Start, entry.Weights);
            }
        }
        var (start, weights) = Weights(origin, inSize, outSize);
        if (cache.Count == 8)
        {
            cache.RemoveAt(0);
        }
        cache.Add((origin, inSize, outSize, start, weights));
        return (start, weights);
    }

    private static (int[] Start, float[][] Weights) Weights(int origin, int inSize, int outSize)
    {
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = filterScale;
        var starts = new int[outSize];
        var weights = new float[outSize][];
        for (var o = 0; o < outSize; o++)
        {
            var center = (o + 0.5) * scale;
            var lo = Math.Max((int)Math.Floor(center - support), 0);
            var hi = Math.Min((int)Math.Ceiling(center + support), inSize);
            var ws = new double[Math.Max(hi - lo, 1)];
            double total = 0;
            for (var i = lo; i < hi; i++)
            {
                var t = Math.Abs((i + 0.5 - center) / filterScale);
                var wgt = t < 1 ? 1 - t : 0;
                ws[i - lo] = wgt;
                total += wgt;
            }
            if (total <= 0)
            {
                // The output pixel falls between input pixels at an edge: take the nearest one.
                lo = Math.Clamp((int)center, 0, inSize - 1);
                ws = [1.0];
                total = 1;
            }
            starts[o] = origin + lo;
            weights[o] = [.. ws.Select(x => (float)(x / total))];
        }
        return (starts, weights);
    }
}
