namespace BiT.Model.Imaging;

/// <summary>An 8-bit RGB image, pixels row-major in height x width x 3 order.</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Pixels">Width·Height·3 bytes: R, G, B per pixel.</param>
public sealed record RgbImage(int Width, int Height, byte[] Pixels)
{
    /// <summary>Checks that the pixel buffer matches the size.</summary>
    /// <exception cref="ArgumentException">The sizes do not agree.</exception>
    public static RgbImage Create(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width <= 0 || height <= 0 || pixels.LongLength != 3L * width * height)
        {
            throw new ArgumentException($"an RGB image of {width}x{height} needs {3L * width * height} bytes; got {pixels.LongLength}", nameof(pixels));
        }

        return new RgbImage(width, height, pixels);
    }
}
