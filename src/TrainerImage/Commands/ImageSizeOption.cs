using System.CommandLine;
using System.Globalization;

namespace BiT.Trainer.Commands;

/// <summary>An image size option written <c>HxW</c> (for example <c>32x32</c> or <c>500x375</c>).</summary>
public static class ImageSizeOption
{
    /// <summary>The option; its value is (height, width).</summary>
    public static Option<(int Height, int Width)> Create(string name) => CommandOptions.Parsed(name, text => Parse(name, text));

    /// <summary>Returns (height, width).</summary>
    /// <exception cref="FormatException">Not two positive whole numbers separated by 'x'.</exception>
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

        throw new FormatException($"option '{option}' must be HEIGHTxWIDTH in pixels, such as 32x32; got '{text}'");
    }
}
