namespace BiT.Contracts.Rules;

/// <summary>The published BiT architectures: units per stage and width factor by name.</summary>
public static class Architectures
{
    /// <summary>The name of a custom architecture (blocks and width factor from the spec).</summary>
    public const string Custom = "Custom";

    private static readonly Dictionary<string, (int[] Blocks, int Width)> Published = new(StringComparer.Ordinal)
    {
        ["R50x1"] = ([3, 4, 6, 3], 1),
        ["R50x3"] = ([3, 4, 6, 3], 3),
        ["R101x1"] = ([3, 4, 23, 3], 1),
        ["R101x3"] = ([3, 4, 23, 3], 3),
        ["R152x2"] = ([3, 8, 36, 3], 2),
        ["R152x4"] = ([3, 8, 36, 3], 4),
    };

    /// <summary>The six published names (without BiT-S-/BiT-M- prefix).</summary>
    public static IReadOnlyCollection<string> Names => Published.Keys;

    /// <summary>"BiT-M-R50x1" -> "R50x1"; other names unchanged.</summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.StartsWith("BiT-S-", StringComparison.Ordinal) || name.StartsWith("BiT-M-", StringComparison.Ordinal)
            ? name[6..]
            : name;
    }

    /// <summary>Units per stage and width factor of a published architecture (prefix allowed).</summary>
    public static bool TryGet(string name, out IReadOnlyList<int> blocks, out double widthFactor)
    {
        if (name is not null && Published.TryGetValue(Normalize(name), out var a))
        {
            blocks = a.Blocks;
            widthFactor = a.Width;
            return true;
        }

        blocks = [];
        widthFactor = 0;
        return false;
    }
}
