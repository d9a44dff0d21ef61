using System.IO.Compression;
using BiT.Model;
using BiT.Model.Tests.TestSupport;
using static TorchSharp.torch;

namespace BiT.Model.Tests.Weights;

public sealed class NpzWeightsTests : IDisposable
{
    private static readonly int[] SmallBlocks = [1, 2, 1, 1];
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static BitResNet Small(int headSize = 10, long seed = 1) =>
        BitResNet.Create(BitArchitecture.Custom(SmallBlocks, 1), headSize, seed);

    private static void Randomize(BitResNet model, long seed)
    {
        random.manual_seed(seed);
        using var noGrad = no_grad();
        foreach (var p in model.parameters())
        {
            p.copy_(randn_like(p) * 0.5);
        }
    }

    [Fact]
    public void Every_key_of_a_published_layout_file_is_consumed_into_the_right_parameter_and_orientation()
    {
        var keys = PublishedLayout.Keys(SmallBlocks, 1, 10);
        string path = _dir.File("published.npz");
        PublishedLayout.WriteMarked(path, keys);

        using var model = Small();
        NpzWeights.Load(model, path, replaceHead: false);

        var parameters = model.named_parameters().ToDictionary(p => CheckpointKeys.ToCheckpointKey(p.name), p => p.parameter);
        Assert.Equal(keys.Select(k => k.Key).Order(), parameters.Keys.Order());
        for (int i = 0; i < keys.Count; i++)
        {
            var (key, shape) = keys[i];
            var p = parameters[key];
            float[] values = p.data<float>().ToArray();
            if (shape.Length == 4)
            {
                // OIHW parameter element (o, i, h, w) holds HWIO file element (h, w, i, o).
                long kh = shape[0], kw = shape[1], ci = shape[2], co = shape[3];
                for (long o = 0; o < co; o += Math.Max(1, co / 7))
                {
                    for (long c = 0; c < ci; c += Math.Max(1, ci / 5))
                    {
                        for (long h = 0; h < kh; h++)
                        {
                            for (long w = 0; w < kw; w++)
                            {
                                long fileIndex = (((h * kw) + w) * ci + c) * co + o;
                                long paramIndex = (((o * ci) + c) * kh + h) * kw + w;
                                Assert.Equal(PublishedLayout.Marker(i, fileIndex), values[paramIndex]);
                            }
                        }
                    }
                }
            }
            else
            {
                Assert.Equal(Enumerable.Range(0, values.Length).Select(e => PublishedLayout.Marker(i, e)), values);
            }
        }
    }

    [Fact]
    public void Saved_file_has_the_published_keys_shapes_and_npy_headers()
    {
        using var model = Small();
        string path = _dir.File("saved.npz");
        NpzWeights.Save(model, path);

        var expected = PublishedLayout.Keys(SmallBlocks, 1, 10).ToDictionary(k => k.Key + ".npy", k => k.Shape);
        using var archive = ZipFile.OpenRead(path);
        Assert.Equal(expected.Keys.Order(), archive.Entries.Select(e => e.FullName).Order());
        foreach (var entry in archive.Entries)
        {
            using var stream = entry.Open();
            var header = Npy.ReadHeader(stream, entry.FullName);
            Assert.Equal("<f4", header.Descr);
            Assert.False(header.FortranOrder);
            Assert.Equal(expected[entry.FullName], header.Shape);
            Assert.Equal(header.ElementCount * 4, entry.Length - stream.Position);
        }

        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp-*"));
    }

    [Fact]
    public void Round_trip_restores_every_parameter_and_the_outputs()
    {
        using var source = Small();
        Randomize(source, 3);
        string path = _dir.File("roundtrip.npz");
        NpzWeights.Save(source, path);

        using var copy = Small(seed: 99);
        NpzWeights.Load(copy, path, replaceHead: false);
        foreach (var ((name, a), (_, b)) in source.named_parameters().Zip(copy.named_parameters()))
        {
            Assert.True(a.allclose(b, 0, 0), name);
        }

        using var noGrad = no_grad();
        using var x = randn(2, 3, 32, 32);
        Assert.True(source.forward(x).allclose(copy.forward(x), 0, 0));
    }

    [Fact]
    public void Replacing_the_head_keeps_the_body_and_zeroes_a_head_of_another_size()
    {
        using var upstream = Small(headSize: 50);
        Randomize(upstream, 4);
        string path = _dir.File("upstream.npz");
        NpzWeights.Save(upstream, path);

        using var downstream = Small(headSize: 37, seed: 5);
        Randomize(downstream, 6);
        NpzWeights.Load(downstream, path, replaceHead: true);

        var body = upstream.named_parameters().Where(p => !p.name.StartsWith("head.conv", StringComparison.Ordinal));
        var loaded = downstream.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in body)
        {
            Assert.True(p.allclose(loaded[name], 0, 0), name);
        }

        Assert.Equal(new long[] { 37, 2048, 1, 1 }, loaded["head.conv.weight"].shape);
        Assert.Equal(0f, loaded["head.conv.weight"].abs().max().item<float>());
        Assert.Equal(0f, loaded["head.conv.bias"].abs().max().item<float>());
    }

    [Fact]
    public void A_head_of_another_size_without_replacement_names_the_key_and_both_shapes()
    {
        using var upstream = Small(headSize: 50);
        string path = _dir.File("upstream.npz");
        NpzWeights.Save(upstream, path);
        using var downstream = Small(headSize: 37);
        var e = Assert.Throws<InvalidDataException>(() => NpzWeights.Load(downstream, path, replaceHead: false));
        Assert.Contains("'resnet/head/conv2d/kernel'", e.Message, StringComparison.Ordinal);
        Assert.Contains("(1, 1, 2048, 50)", e.Message, StringComparison.Ordinal);
        Assert.Contains("(1, 1, 2048, 37)", e.Message, StringComparison.Ordinal);
        Assert.Contains("replace the head", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_key_is_named_with_its_expected_shape_and_the_model_is_untouched()
    {
        var keys = PublishedLayout.Keys(SmallBlocks, 1, 10);
        keys.RemoveAll(k => k.Key == "resnet/block2/unit02/b/standardized_conv2d/kernel");
        string path = _dir.File("missing.npz");
        PublishedLayout.WriteMarked(path, keys);
        using var model = Small();
        using var before = model.named_parameters().First().parameter.clone();

        var e = Assert.Throws<InvalidDataException>(() => NpzWeights.Load(model, path, replaceHead: false));
        Assert.Contains("1 missing key(s): 'resnet/block2/unit02/b/standardized_conv2d/kernel' (expected shape (3, 3, 128, 128))", e.Message, StringComparison.Ordinal);
        Assert.True(before.allclose(model.named_parameters().First().parameter, 0, 0));
    }

    [Fact]
    public void An_extra_key_is_named()
    {
        var keys = PublishedLayout.Keys(SmallBlocks, 1, 10);
        keys.Add(("resnet/block4/unit02/a/group_norm/gamma", [2048]));
        string path = _dir.File("extra.npz");
        PublishedLayout.WriteMarked(path, keys);
        using var model = Small();
        var e = Assert.Throws<InvalidDataException>(() => NpzWeights.Load(model, path, replaceHead: false));
        Assert.Contains("1 unexpected key(s): 'resnet/block4/unit02/a/group_norm/gamma'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_shape_is_named_with_expected_and_found()
    {
        var keys = PublishedLayout.Keys(SmallBlocks, 1, 10);
        int i = keys.FindIndex(k => k.Key == "resnet/root_block/standardized_conv2d/kernel");
        keys[i] = (keys[i].Key, [3, 3, 3, 64]);
        string path = _dir.File("shape.npz");
        PublishedLayout.WriteMarked(path, keys);
        using var model = Small();
        var e = Assert.Throws<InvalidDataException>(() => NpzWeights.Load(model, path, replaceHead: false));
        Assert.Contains("key 'resnet/root_block/standardized_conv2d/kernel' has shape (3, 3, 3, 64), expected (7, 7, 3, 64)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_dtype_is_named()
    {
        var keys = PublishedLayout.Keys(SmallBlocks, 1, 10);
        var entries = keys.Select((k, i) => NpzWriter.Float32(k.Key, k.Shape, _ => i)).ToList();
        int beta = keys.FindIndex(k => k.Key == "resnet/group_norm/beta");
        entries[beta] = new NpzWriter.Entry("resnet/group_norm/beta.npy", "<f8", [2048], new byte[2048 * 8]);
        string path = _dir.File("dtype.npz");
        NpzWriter.Write(path, entries);
        using var model = Small();
        var e = Assert.Throws<InvalidDataException>(() => NpzWeights.Load(model, path, replaceHead: false));
        Assert.Contains("key 'resnet/group_norm/beta': dtype '<f8' with shape (2048,), expected float32 '<f4'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_zip_is_reported_as_such()
    {
        using var model = Small();
        string path = _dir.File("whole.npz");
        NpzWeights.Save(model, path);
        byte[] bytes = File.ReadAllBytes(path);
        string truncated = _dir.File("truncated.npz");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length / 2).ToArray());

        var e = Assert.Throws<InvalidDataException>(() => NpzWeights.Load(model, truncated, replaceHead: false));
        Assert.Contains(truncated, e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_entry_shorter_than_its_header_says_is_reported_with_its_key()
    {
        var keys = PublishedLayout.Keys(SmallBlocks, 1, 10);
        var entries = keys.Select((k, i) => NpzWriter.Float32(k.Key, k.Shape, _ => i)).ToList();
        int gamma = keys.FindIndex(k => k.Key == "resnet/group_norm/gamma");
        entries[gamma] = entries[gamma] with { Payload = new byte[100] };
        string path = _dir.File("short.npz");
        NpzWriter.Write(path, entries);
        using var model = Small();
        var e = Assert.Throws<InvalidDataException>(() => NpzWeights.Load(model, path, replaceHead: false));
        Assert.Contains("key 'resnet/group_norm/gamma': the data ends after 100 of 8192 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_zip_is_reported_as_such()
    {
        string path = _dir.File("text.npz");
        File.WriteAllText(path, "this is not a zip archive\n");
        using var model = Small();
        var e = Assert.Throws<InvalidDataException>(() => NpzWeights.Load(model, path, replaceHead: false));
        Assert.Contains("not a zip", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_reported_with_its_path()
    {
        using var model = Small();
        string path = _dir.File("nowhere.npz");
        var e = Assert.Throws<FileNotFoundException>(() => NpzWeights.Load(model, path, replaceHead: false));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compressed_npz_as_written_by_savez_compressed_also_loads()
    {
        var keys = PublishedLayout.Keys(SmallBlocks, 1, 10);
        string path = _dir.File("compressed.npz");
        NpzWriter.Write(path, keys.Select((k, i) => NpzWriter.Float32(k.Key, k.Shape, e => PublishedLayout.Marker(i, e))), CompressionLevel.Optimal);
        using var model = Small();
        NpzWeights.Load(model, path, replaceHead: false);
        var bias = model.named_parameters().Single(p => p.name == "head.conv.bias").parameter;
        Assert.Equal(PublishedLayout.Marker(keys.Count - 1, 3), bias[3].item<float>());
    }
}
