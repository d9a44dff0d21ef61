using System.Globalization;
using System.Text.RegularExpressions;
using BiT.Contracts.Rules;

namespace BiT.Model;

/// <summary>
/// A BiT ResNet-v2 shape: units per stage and the width factor. The six published variants are known by name
/// (<c>R50x1</c> ... <c>R152x4</c>, also as published file names such as <c>BiT-M-R50x1</c>); small custom shapes
/// (written <c>R1-1-1-1x0.5</c>) serve CPU experiments and tests.
/// </summary>
public sealed partial record BitArchitecture
{
    /// <summary>GroupNorm groups: every channel count of the network must be a multiple of this.</summary>
    public const int Groups = 32;

    private BitArchitecture(string name, int[] blocks, double widthFactor)
    {
        Name = name;
        Blocks = blocks;
        WidthFactor = widthFactor;
    }

    /// <summary>The canonical name: <c>R50x1</c> for published variants, <c>R1-1-1-1x0.5</c> for custom ones.</summary>
    public string Name { get; }

    /// <summary>Units in each of the four stages.</summary>
    public IReadOnlyList<int> Blocks { get; }

    /// <summary>The width factor w: the root has 64·w channels, the stages 256·w ... 2048·w.</summary>
    public double WidthFactor { get; }

    /// <summary>The six released variants, in the order of the paper.</summary>
    public static IReadOnlyList<string> PublishedNames { get; } = [.. Architectures.Names];

    /// <summary>Channels out of the root convolution.</summary>
    public int RootChannels => Channels(64);

    /// <summary>Channels out of stage <paramref name="stage"/> (1-based).</summary>
    public int StageOutChannels(int stage) => Channels(256 << (stage - 1));

    /// <summary>Middle (bottleneck) channels of stage <paramref name="stage"/> (1-based): a quarter of its output.</summary>
    public int StageMidChannels(int stage) => Channels(64 << (stage - 1));

    /// <summary>Channels of the final features, the head's input.</summary>
    public int FeatureChannels => StageOutChannels(4);

    /// <summary>
    /// Resolves a variant name: <c>R50x1</c>, <c>BiT-M-R50x1</c>, <c>BiT-S-R152x4.npz</c> (case-insensitive), or a
    /// custom shape <c>R{b1}-{b2}-{b3}-{b4}x{w}</c> such as <c>R1-1-1-1x1</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is neither a published variant nor a valid custom shape.</exception>
    public static BitArchitecture Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string trimmed = name.Trim();
        if (trimmed.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
        {
            trimmed = trimmed[..^4];
        }

        var published = PublishedAlias().Match(trimmed);
        string core = published.Success ? published.Groups["arch"].Value : trimmed;
        string? canonical = PublishedNames.FirstOrDefault(n => n.Equals(core, StringComparison.OrdinalIgnoreCase));
        if (canonical is not null && Architectures.TryGet(canonical, out var knownBlocks, out double knownWidth))
        {
            return new BitArchitecture(canonical, [.. knownBlocks], knownWidth);
        }

        var custom = CustomShape().Match(trimmed);
        if (custom.Success)
        {
            int[] blocks = [.. custom.Groups["b"].Captures.Select(c => int.Parse(c.Value, CultureInfo.InvariantCulture))];
            if (double.TryParse(custom.Groups["w"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double width))
            {
                return Custom(blocks, width);
            }
        }

        throw new ArgumentException(
            $"unknown model '{name}': expected one of {string.Join(", ", PublishedNames)} (optionally as BiT-M-<name> or " +
            "BiT-S-<name>), or a custom shape R<b1>-<b2>-<b3>-<b4>x<width> such as R1-1-1-1x1",
            nameof(name));
    }

    /// <summary>A custom shape: units per stage (four, each at least 1) and a width factor.</summary>
    /// <exception cref="ArgumentException">
    /// Not four positive block counts, or a width whose channel counts are not whole multiples of 32 (GroupNorm(32)).
    /// </exception>
    public static BitArchitecture Custom(int[] blocks, double width)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Length != 4 || blocks.Any(b => b < 1))
        {
            throw new ArgumentException(
                $"blocks must be four unit counts, each at least 1 (one per stage); got [{string.Join(", ", blocks)}]",
                nameof(blocks));
        }

        // The smallest channel count is the root's 64·w; every other one is a whole multiple of it.
        double root = 64 * width;
        if (!double.IsFinite(width) || width <= 0 || root != Math.Round(root) || (long)root % Groups != 0)
        {
            throw new ArgumentException(
                $"width factor {width.ToString(CultureInfo.InvariantCulture)} gives {root.ToString(CultureInfo.InvariantCulture)} root channels; " +
                $"every channel count (64·w, 256·w, ..., 2048·w) must be a whole multiple of {Groups} for GroupNorm({Groups}), " +
                "so the width factor must be a positive multiple of 0.5",
                nameof(width));
        }

        string name = $"R{string.Join('-', blocks)}x{width.ToString(CultureInfo.InvariantCulture)}";
        return new BitArchitecture(name, [.. blocks], width);
    }

    /// <summary>
    /// Parameters of the network with a <paramref name="headSize"/>-way head, computed from the shape alone so that
    /// the big variants can be counted without allocating them.
    /// </summary>
    public long ParameterCount(int headSize)
    {
        long count = 3L * RootChannels * 7 * 7;
        long inChannels = RootChannels;
        for (int stage = 1; stage <= 4; stage++)
        {
            long mid = StageMidChannels(stage);
            long outChannels = StageOutChannels(stage);
            for (int unit = 0; unit < Blocks[stage - 1]; unit++)
            {
                count += 2 * inChannels // gn1
                    + (inChannels * mid) + (2 * mid) // conv1, gn2
                    + (9 * mid * mid) + (2 * mid) // conv2, gn3
                    + (mid * outChannels); // conv3
                if (unit == 0)
                {
                    count += inChannels * outChannels; // projection
                }

                inChannels = outChannels;
            }
        }

        return count + (2L * FeatureChannels) + ((FeatureChannels + 1L) * headSize);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <inheritdoc/>
    public bool Equals(BitArchitecture? other) =>
        other is not null && Blocks.SequenceEqual(other.Blocks) && WidthFactor.Equals(other.WidthFactor);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Blocks[0], Blocks[1], Blocks[2], Blocks[3], WidthFactor);

    private int Channels(int baseChannels) => checked((int)Math.Round(baseChannels * WidthFactor));

    [GeneratedRegex(@"^BiT-[SML]-(?<arch>R\d+x\d+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PublishedAlias();

    [GeneratedRegex(@"^R(?<b>\d{1,3})-(?<b>\d{1,3})-(?<b>\d{1,3})-(?<b>\d{1,3})x(?<w>\d+(\.\d+)?)$", RegexOptions.CultureInvariant)]
    private static partial Regex CustomShape();
}
