namespace BiT.Trainer.Data;

/// <summary>A decoded image: 8-bit pixels in height x width x channels order (1 = gray, 3 = RGB).</summary>
public sealed record RawImage(int Height, int Width, int Channels, byte[] Pixels)
{
    public static RawImage Create(int height, int width, int channels, byte[] pixels)
    {
        if (height <= 0 || width <= 0 || (channels != 1 && channels != 3))
        {
            throw new ArgumentOutOfRangeException(nameof(height), $"image size {height}x{width}x{channels} is not a valid image");
        }
        if (pixels.Length != height * width * channels)
        {
            throw new ArgumentException($"image {height}x{width}x{channels} needs {height * width * channels} bytes, got {pixels.Length}", nameof(pixels));
        }
        return new RawImage(height, width, channels, pixels);
    }
}
