using System.IO.Compression;
using BiT.Model;
using Xunit.Abstractions;

namespace BiT.Trainer.Tests.Hostile;

/// <summary>
/// The .npz fuzz target: mutations of a real weights file (<see cref="NpzWeights.Save"/> of a small network) go
/// through <see cref="NpzWeights.ReadHeadSize"/> and then the full <see cref="NpzWeights.Load"/> into the network
/// (keys, dtypes, shapes, then every payload), with and without replacing the head; the answer must be a load or an
/// <see cref="InvalidDataException"/>. Half the inputs are the whole file mutated (the zip's own structure and
/// checksums); the other half mutate one entry's .npy bytes and zip them again with valid checksums, so the
/// mutation reaches the .npy header and shape checks and the payload reads (a raw mutation of a payload byte is
/// mostly caught by the zip's CRC). In the torch collection: building the network seeds libtorch's global
/// generator. Time and seed as <see cref="FuzzTests"/>.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class WeightsFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Mutated_weights_files_load_or_are_refused_with_InvalidDataException()
    {
        using var dir = new TempDir();
        using var model = BitResNet.Create(BitArchitecture.Custom([1, 1, 1, 1], 0.5), 10, seed: 1);
        var path = dir.Combine("weights.npz");
        NpzWeights.Save(model, path);
        var valid = File.ReadAllBytes(path);
        var entries = Entries(valid);
        var heads = new Random(FuzzTests.Seed);
        FuzzTests.Fuzz("npz", valid, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            _ = NpzWeights.ReadHeadSize(path);
            NpzWeights.Load(model, path, replaceHead: heads.Next(2) == 0);
        }, e => e is InvalidDataException, output, (bytes, random) => random.Next(2) == 0 ? FuzzTests.Mutate(bytes, random) : MutateEntry(entries, random));
    }

    private static List<(string Name, byte[] Bytes)> Entries(byte[] npz)
    {
        using var zip = new ZipArchive(new MemoryStream(npz), ZipArchiveMode.Read);
        return [.. zip.Entries.Select(e =>
        {
            using var stream = e.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return (e.FullName, copy.ToArray());
        })];
    }

    private static byte[] MutateEntry(List<(string Name, byte[] Bytes)> entries, Random random)
    {
        var chosen = random.Next(entries.Count);
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < entries.Count; i++)
            {
                var (name, bytes) = entries[i];
                // Mostly the header (the first 128 bytes: magic, version, dict with the shape), sometimes anywhere.
                var data = i != chosen ? bytes
                    : random.Next(4) == 0 || bytes.Length <= 128 ? FuzzTests.Mutate(bytes, random)
                    : [.. FuzzTests.Mutate(bytes[..128], random), .. bytes[128..]];
                using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                stream.Write(data);
            }
        }

        return output.ToArray();
    }
}
