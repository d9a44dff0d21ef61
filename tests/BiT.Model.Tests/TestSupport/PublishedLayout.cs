using BiT.Model;

namespace BiT.Model.Tests.TestSupport;

/// <summary>
/// The checkpoint keys and HWIO shapes of a BiT architecture, written out from the recipe (not from the code under
/// test), in the order the published files use.
/// </summary>
internal static class PublishedLayout
{
    public static List<(string Key, long[] Shape)> Keys(int[] blocks, int width, int headSize)
    {
        var keys = new List<(string, long[])> { ("resnet/root_block/standardized_conv2d/kernel", [7, 7, 3, 64 * width]) };
        long inChannels = 64 * width;
        for (int block = 1; block <= 4; block++)
        {
            long outChannels = 256L * width << (block - 1);
            long mid = outChannels / 4;
            for (int unit = 1; unit <= blocks[block - 1]; unit++)
            {
                string prefix = $"resnet/block{block}/unit{unit:00}";
                keys.Add(($"{prefix}/a/group_norm/gamma", [inChannels]));
                keys.Add(($"{prefix}/a/group_norm/beta", [inChannels]));
                keys.Add(($"{prefix}/a/standardized_conv2d/kernel", [1, 1, inChannels, mid]));
                if (unit == 1)
                {
                    keys.Add(($"{prefix}/a/proj/standardized_conv2d/kernel", [1, 1, inChannels, outChannels]));
                }

                keys.Add(($"{prefix}/b/group_norm/gamma", [mid]));
                keys.Add(($"{prefix}/b/group_norm/beta", [mid]));
                keys.Add(($"{prefix}/b/standardized_conv2d/kernel", [3, 3, mid, mid]));
                keys.Add(($"{prefix}/c/group_norm/gamma", [mid]));
                keys.Add(($"{prefix}/c/group_norm/beta", [mid]));
                keys.Add(($"{prefix}/c/standardized_conv2d/kernel", [1, 1, mid, outChannels]));
                inChannels = outChannels;
            }
        }

        keys.Add(("resnet/group_norm/gamma", [inChannels]));
        keys.Add(("resnet/group_norm/beta", [inChannels]));
        keys.Add(("resnet/head/conv2d/kernel", [1, 1, inChannels, headSize]));
        keys.Add(("resnet/head/conv2d/bias", [headSize]));
        return keys;
    }

    /// <summary>A value that identifies both the key (by index) and the element (by flat HWIO position).</summary>
    public static float Marker(int keyIndex, long element) => keyIndex + (element % 997 / 1000f);

    /// <summary>Writes a published-layout file whose every element is <see cref="Marker"/>.</summary>
    public static void WriteMarked(string path, List<(string Key, long[] Shape)> keys) =>
        NpzWriter.Write(path, keys.Select((k, i) => NpzWriter.Float32(k.Key, k.Shape, e => Marker(i, e))));

    public static BitArchitecture Architecture(int[] blocks, int width) => BitArchitecture.Custom(blocks, width);
}
