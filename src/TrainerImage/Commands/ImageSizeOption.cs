using System.Globalization;

namespace BiT.Trainer.Commands;

/// <summary>Parses an image size written <c>HxW</c> (for example <c>32x32</c> or <c>500x375</c>).</summary>
public static class ImageSizeOption
{
    /// <summary>Returns (height, width).</summary>
    /// <exception cref="UsageException">Not two positive whole numbers separated by 'x'.</exception>
    public static (int Height, int Width) Parse(string option, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split('x', 'X');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int height)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int width)
            && height > 0 && width > 0)
        {
            return (height, width);
        }

        throw new UsageException($"option '--{option}' must be HEIGHTxWIDTH in pixels, such as 32x32; got '{text}'");
    }
}
