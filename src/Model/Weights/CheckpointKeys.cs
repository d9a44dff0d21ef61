using System.Text.RegularExpressions;

namespace BiT.Model;

/// <summary>
/// The mapping between this network's parameter names and the published checkpoint keys, for example
/// <c>body.block2.unit01.downsample.weight</c> &lt;-&gt; <c>resnet/block2/unit01/a/proj/standardized_conv2d/kernel</c>.
/// </summary>
public static partial class CheckpointKeys
{
    /// <summary>The checkpoint key of the head's classifier kernel.</summary>
    public const string HeadKernel = "resnet/head/conv2d/kernel";

    /// <summary>The checkpoint key of the head's classifier bias.</summary>
    public const string HeadBias = "resnet/head/conv2d/bias";

    /// <summary>The checkpoint key for a parameter name of <see cref="BitResNet"/>.</summary>
    /// <exception cref="ArgumentException">The name is not one of the network's parameters.</exception>
    public static string ToCheckpointKey(string parameterName)
    {
        ArgumentNullException.ThrowIfNull(parameterName);
        switch (parameterName)
        {
            case "root.conv.weight": return "resnet/root_block/standardized_conv2d/kernel";
            case "head.gn.weight": return "resnet/group_norm/gamma";
            case "head.gn.bias": return "resnet/group_norm/beta";
            case "head.conv.weight": return HeadKernel;
            case "head.conv.bias": return HeadBias;
            default: break;
        }

        var match = UnitParameter().Match(parameterName);
        if (!match.Success)
        {
            throw new ArgumentException($"'{parameterName}' is not a parameter of the BiT network", nameof(parameterName));
        }

        string prefix = $"resnet/{match.Groups["block"].Value}/{match.Groups["unit"].Value}";
        string layer = match.Groups["layer"].Value;
        string kind = match.Groups["kind"].Value;
        if (kind == "bias" && !layer.StartsWith("gn", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{parameterName}' is not a parameter of the BiT network (its convolutions have no bias)", nameof(parameterName));
        }

        if (layer == "downsample")
        {
            return $"{prefix}/a/proj/standardized_conv2d/kernel";
        }

        string part = "abc"[layer[^1] - '1'].ToString();
        return layer.StartsWith("gn", StringComparison.Ordinal)
            ? $"{prefix}/{part}/group_norm/{(kind == "weight" ? "gamma" : "beta")}"
            : $"{prefix}/{part}/standardized_conv2d/kernel";
    }

    /// <summary>Whether a checkpoint key holds the head's classifier (replaced when fine-tuning on a new task).</summary>
    public static bool IsHeadClassifier(string key) => key is HeadKernel or HeadBias;

    [GeneratedRegex(@"^body\.(?<block>block[1-4])\.(?<unit>unit\d\d+)\.(?<layer>gn[123]|conv[123]|downsample)\.(?<kind>weight|bias)$", RegexOptions.CultureInvariant)]
    private static partial Regex UnitParameter();
}
