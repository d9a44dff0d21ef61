using SkiaSharp;

namespace BiT.Model.Imaging;

/// <summary>
/// Decodes JPEG/PNG (anything SkiaSharp reads) to RGB, resizes, and converts to the network's input: float CHW
/// scaled to [-1, 1] (<c>x / 127.5 - 1</c>, as BiT's input pipeline does).
/// </summary>
public static class ImageDecoder
{
    /// <summary>
    /// The most pixels an image may declare (8192 x 8192, 256 MiB as RGBA): a header is checked against it before the
    /// pixels are allocated, so a few-byte file declaring 30000 x 30000 is refused instead of exhausting memory.
    /// </summary>
    public const long MaxPixels = 1L << 26;

    /// <summary>Why an image of this declared size cannot be decoded, or null when it can.</summary>
    public static string? SizeProblem(int width, int height) =>
        width <= 0 || height <= 0 ? $"declares an empty size {width}x{height}"
        : (long)width * height > MaxPixels ? $"declares {width}x{height} pixels, more than the {MaxPixels / 1048576} megapixel limit"
        : null;

    private static readonly SKSamplingOptions Bilinear = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    /// <summary>Decodes an image file.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an image SkiaSharp can decode.</exception>
    public static RgbImage Decode(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such image", path);
        }

        using var stream = File.OpenRead(path);
        return Decode(stream, path);
    }

    /// <summary>Decodes an image from a stream; <paramref name="what"/> names it in errors.</summary>
    public static RgbImage Decode(Stream stream, string what)
    {
        using var bitmap = DecodeBitmap(stream, what);
        return ToRgb(bitmap);
    }

    /// <summary>Resizes with bilinear filtering (mipmapped, so large reductions do not alias).</summary>
    public static RgbImage Resize(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (image.Width == width && image.Height == height)
        {
            return image;
        }

        using var source = ToBitmap(image);
        using var resized = source.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), Bilinear)
            ?? throw new InvalidOperationException($"SkiaSharp could not resize {image.Width}x{image.Height} to {width}x{height}");
        return ToRgb(resized);
    }

    /// <summary>Writes the image as CHW floats in [-1, 1] into <paramref name="destination"/> (3·H·W values).</summary>
    public static void ToNormalizedChw(RgbImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        int plane = image.Width * image.Height;
        if (destination.Length != 3 * plane)
        {
            throw new ArgumentException($"destination holds {destination.Length} values; a {image.Width}x{image.Height} RGB image needs {3 * plane}", nameof(destination));
        }

        byte[] pixels = image.Pixels;
        for (int p = 0; p < plane; p++)
        {
            destination[p] = (pixels[3 * p] / 127.5f) - 1f;
            destination[plane + p] = (pixels[(3 * p) + 1] / 127.5f) - 1f;
            destination[(2 * plane) + p] = (pixels[(3 * p) + 2] / 127.5f) - 1f;
        }
    }

    /// <summary>The image as a new CHW float array in [-1, 1].</summary>
    public static float[] ToNormalizedChw(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        float[] values = new float[3 * image.Width * image.Height];
        ToNormalizedChw(image, values);
        return values;
    }

    /// <summary>Decodes a file, resizes it to a <paramref name="size"/> square, and normalises: one network input.</summary>
    public static float[] LoadForModel(string path, int size) => ToNormalizedChw(Resize(Decode(path), size, size));

    private static SKBitmap DecodeBitmap(Stream stream, string what)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var codec = SKCodec.Create(stream, out var result)
            ?? throw new InvalidDataException($"{what}: not a readable image ({result})");
        if (SizeProblem(codec.Info.Width, codec.Info.Height) is { } problem)
        {
            throw new InvalidDataException($"{what}: {problem}");
        }

        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        var decoded = codec.GetPixels(info, bitmap.GetPixels());
        // A truncated JPEG still yields its decoded rows (IncompleteInput); anything else is a failure.
        if (decoded is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
        {
            bitmap.Dispose();
            throw new InvalidDataException($"{what}: decoding failed ({decoded})");
        }

        return bitmap;
    }

    private static RgbImage ToRgb(SKBitmap bitmap)
    {
        ReadOnlySpan<byte> rgba = bitmap.GetPixelSpan();
        byte[] rgb = new byte[bitmap.Width * bitmap.Height * 3];
        for (int p = 0, q = 0; q < rgb.Length; p += 4, q += 3)
        {
            rgb[q] = rgba[p];
            rgb[q + 1] = rgba[p + 1];
            rgb[q + 2] = rgba[p + 2];
        }

        return new RgbImage(bitmap.Width, bitmap.Height, rgb);
    }

    private static SKBitmap ToBitmap(RgbImage image)
    {
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Span<byte> rgba = bitmap.GetPixelSpan();
        byte[] rgb = image.Pixels;
        for (int p = 0, q = 0; q < rgb.Length; p += 4, q += 3)
        {
            rgba[p] = rgb[q];
            rgba[p + 1] = rgb[q + 1];
            rgba[p + 2] = rgb[q + 2];
            rgba[p + 3] = 255;
        }

        return bitmap;
    }
}
