using BiT.Model.Imaging;
using BiT.Model.Tests.TestSupport;
using SkiaSharp;

namespace BiT.Model.Tests.Imaging;

public sealed class ImageDecoderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    // A 4x2 image: left half pure red, right half (0, 128, 255).
    private string Write(string name, SKEncodedImageFormat format, int quality = 100)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(4, 2, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < 2; y++)
        {
            for (int x = 0; x < 4; x++)
            {
                bitmap.SetPixel(x, y, x < 2 ? new SKColor(255, 0, 0) : new SKColor(0, 128, 255));
            }
        }

        string path = _dir.File(name);
        using var data = bitmap.Encode(format, quality);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    [Fact]
    public void Png_decodes_to_exact_rgb_rows()
    {
        var image = ImageDecoder.Decode(Write("a.png", SKEncodedImageFormat.Png));
        Assert.Equal((4, 2), (image.Width, image.Height));
        Assert.Equal(new byte[] { 255, 0, 0, 255, 0, 0, 0, 128, 255, 0, 128, 255 }, image.Pixels[..12]);
    }

    [Fact]
    public void Jpeg_decodes_close_to_the_original()
    {
        var image = ImageDecoder.Decode(Write("a.jpg", SKEncodedImageFormat.Jpeg));
        Assert.Equal((4, 2), (image.Width, image.Height));
        Assert.InRange(image.Pixels[0], 200, 255);
        Assert.InRange(image.Pixels[(3 * 3) + 2], 200, 255);
    }

    [Fact]
    public void Normalised_chw_puts_each_colour_in_its_plane_in_minus_one_to_one()
    {
        var image = RgbImage.Create(2, 1, [255, 0, 0, 0, 128, 255]);
        float[] chw = ImageDecoder.ToNormalizedChw(image);
        Assert.Equal(new[] { 1f, -1f, -1f, (128 / 127.5f) - 1, -1f, 1f }, chw);
    }

    [Fact]
    public void Resize_changes_the_size_and_keeps_flat_colours()
    {
        var image = ImageDecoder.Resize(ImageDecoder.Decode(Write("a.png", SKEncodedImageFormat.Png)), 16, 8);
        Assert.Equal((16, 8, 16 * 8 * 3), (image.Width, image.Height, image.Pixels.Length));
        Assert.Equal(new byte[] { 255, 0, 0 }, image.Pixels[..3]);
        Assert.Equal(new byte[] { 0, 128, 255 }, image.Pixels[^3..]);
    }

    [Fact]
    public void Load_for_model_gives_a_square_network_input()
    {
        float[] input = ImageDecoder.LoadForModel(Write("a.png", SKEncodedImageFormat.Png), 32);
        Assert.Equal(3 * 32 * 32, input.Length);
        Assert.All(input, v => Assert.InRange(v, -1f, 1f));
    }

    [Fact]
    public void A_file_that_is_not_an_image_is_named_in_the_error()
    {
        string path = _dir.File("notes.jpg");
        File.WriteAllText(path, "not an image");
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_buffer_of_the_wrong_size_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => RgbImage.Create(2, 2, new byte[5]));
        Assert.Contains("12 bytes", e.Message, StringComparison.Ordinal);
    }
}
