using System.IO.Compression;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BiT.Model;

/// <summary>
/// Reads and writes the published BiT checkpoint format: a <c>.npz</c> (zip of float32 little-endian <c>.npy</c>
/// arrays) keyed <c>resnet/...</c>, convolution kernels HWIO. Entries are streamed one at a time into the model's
/// tensors, so a 4.4 GB R152x4 file is never held twice in memory.
/// </summary>
public static class NpzWeights
{
    private const string NpySuffix = ".npy";
    private const int MaxListed = 8;

    /// <summary>
    /// Loads a checkpoint into <paramref name="model"/>. With <paramref name="replaceHead"/>, the file's classifier
    /// (<c>resnet/head/conv2d/*</c>, of any class count) is skipped and the model's head is zero-initialised, which
    /// is how a 21,843-way BiT-M file starts a 37-class task; every other key must match exactly.
    /// The file is fully validated (keys, dtypes, shapes) before any weight of the model is changed.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// Not a zip, a truncated zip, missing or unexpected keys, a wrong dtype or shape (the message names the key and
    /// the expected and found shapes).
    /// </exception>
    public static void Load(BitResNet model, string path, bool replaceHead)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such weights file", path);
        }

        var targets = Targets(model);
        using var archive = OpenArchive(path);
        var entries = IndexEntries(archive, path);
        CheckKeys(path, model, targets, entries, replaceHead);

        // Pass 1: headers only, so that a bad entry is reported before the model is touched.
        foreach (var (key, entry) in entries)
        {
            using var stream = OpenEntry(entry, path, key);
            var header = ReadHeader(stream, path, key);
            bool skipped = replaceHead && CheckpointKeys.IsHeadClassifier(key);
            var expected = targets[key].FileShape;
            if (!skipped && !header.Shape.SequenceEqual(expected))
            {
                throw new InvalidDataException(
                    $"{path}: key '{key}' has shape {header.ShapeText}, expected {Npy.FormatShape(expected)} for model " +
                    $"{model.Architecture.Name} with a {model.HeadSize}-way head" +
                    (CheckpointKeys.IsHeadClassifier(key) ? " (to start a new task from this checkpoint, replace the head)" : ""));
            }
        }

        // Pass 2: payloads, one entry at a time.
        using (no_grad())
        {
            foreach (var (key, entry) in entries)
            {
                if (replaceHead && CheckpointKeys.IsHeadClassifier(key))
                {
                    continue;
                }

                using var scope = NewDisposeScope();
                using var stream = OpenEntry(entry, path, key);
                var header = ReadHeader(stream, path, key);
                var target = targets[key].Parameter;
                var buffer = empty([.. header.Shape], ScalarType.Float32);
                ReadPayload(stream, buffer, path, key);
                var value = buffer.dim() == 4 ? buffer.permute(3, 2, 0, 1) : buffer;
                target.copy_(value);
            }
        }

        if (replaceHead)
        {
            model.Head.ZeroClassifier();
        }
    }

    /// <summary>
    /// Writes <paramref name="model"/> in the published layout (float32, HWIO kernels). The file is written next to
    /// <paramref name="path"/> under a temporary name and renamed, so a reader never sees a half-written checkpoint.
    /// </summary>
    public static void Save(BitResNet model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            using (var archive = new ZipArchive(file, ZipArchiveMode.Create))
            {
                foreach (var (name, parameter) in model.named_parameters())
                {
                    string key = CheckpointKeys.ToCheckpointKey(name);
                    var entry = archive.CreateEntry(key + NpySuffix, CompressionLevel.NoCompression);
                    using var stream = entry.Open();
                    using var scope = NewDisposeScope();
                    var value = parameter.detach();
                    value = value.dim() == 4 ? value.permute(2, 3, 1, 0) : value;
                    value = value.to(ScalarType.Float32, CPU).contiguous();
                    Npy.WriteHeader(stream, Npy.Float32, value.shape);
                    Npy.WritePayload(stream, value);
                }
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// The class count of a checkpoint's head, read from the header of <c>resnet/head/conv2d/bias</c> alone, so that a
    /// model can be built to match a file before loading it.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Not a readable .npz, or no usable head bias in it.</exception>
    public static int ReadHeadSize(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such weights file", path);
        }

        using var archive = OpenArchive(path);
        var entry = archive.GetEntry(CheckpointKeys.HeadBias + NpySuffix)
            ?? throw new InvalidDataException($"{path}: has no key '{CheckpointKeys.HeadBias}', so the head size is unknown");
        using var stream = OpenEntry(entry, path, CheckpointKeys.HeadBias);
        var header = ReadHeader(stream, path, CheckpointKeys.HeadBias);
        if (header.Shape.Count != 1 || header.Shape[0] < 1 || header.Shape[0] > int.MaxValue)
        {
            throw new InvalidDataException($"{path}: key '{CheckpointKeys.HeadBias}' has shape {header.ShapeText}, expected (classes,)");
        }

        return (int)header.Shape[0];
    }

    /// <summary>The checkpoint keys a model expects, with the shape each has in the file (kernels HWIO).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<long>> ExpectedKeys(BitResNet model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Targets(model).ToDictionary(t => t.Key, t => t.Value.FileShape, StringComparer.Ordinal);
    }

    private static Dictionary<string, (Parameter Parameter, IReadOnlyList<long> FileShape)> Targets(BitResNet model)
    {
        var targets = new Dictionary<string, (Parameter, IReadOnlyList<long>)>(StringComparer.Ordinal);
        foreach (var (name, parameter) in model.named_parameters())
        {
            long[] shape = parameter.shape;
            long[] fileShape = shape.Length == 4 ? [shape[2], shape[3], shape[1], shape[0]] : shape;
            targets.Add(CheckpointKeys.ToCheckpointKey(name), (parameter, fileShape));
        }

        return targets;
    }

    private static ZipArchive OpenArchive(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            return new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (InvalidDataException e)
        {
            file.Dispose();
            throw new InvalidDataException(
                $"{path}: not a readable .npz (zip) archive; it may be truncated or not a zip at all ({e.Message})", e);
        }
    }

    private static List<(string Key, ZipArchiveEntry Entry)> IndexEntries(ZipArchive archive, string path)
    {
        var entries = new List<(string, ZipArchiveEntry)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in archive.Entries)
        {
            string name = entry.FullName;
            string key = name.EndsWith(NpySuffix, StringComparison.Ordinal) ? name[..^NpySuffix.Length] : name;
            if (!seen.Add(key))
            {
                throw new InvalidDataException($"{path}: key '{key}' appears more than once");
            }

            entries.Add((key, entry));
        }

        return entries;
    }

    private static void CheckKeys(
        string path,
        BitResNet model,
        Dictionary<string, (Parameter Parameter, IReadOnlyList<long> FileShape)> targets,
        List<(string Key, ZipArchiveEntry Entry)> entries,
        bool replaceHead)
    {
        var present = entries.Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        var missing = targets
            .Where(t => !present.Contains(t.Key) && !(replaceHead && CheckpointKeys.IsHeadClassifier(t.Key)))
            .Select(t => $"'{t.Key}' (expected shape {Npy.FormatShape(t.Value.FileShape)})")
            .ToList();
        var extra = entries.Where(e => !targets.ContainsKey(e.Key)).Select(e => $"'{e.Key}'").ToList();
        if (missing.Count == 0 && extra.Count == 0)
        {
            return;
        }

        var parts = new List<string>();
        if (missing.Count > 0)
        {
            parts.Add($"{missing.Count} missing key(s): {Listed(missing)}");
        }

        if (extra.Count > 0)
        {
            parts.Add($"{extra.Count} unexpected key(s): {Listed(extra)}");
        }

        throw new InvalidDataException(
            $"{path}: does not match model {model.Architecture.Name}: {string.Join("; ", parts)}. " +
            "Is it a BiT checkpoint of the same architecture?");
    }

    private static string Listed(List<string> items) =>
        string.Join(", ", items.Take(MaxListed)) + (items.Count > MaxListed ? $", ... and {items.Count - MaxListed} more" : "");

    private static Stream OpenEntry(ZipArchiveEntry entry, string path, string key)
    {
        try
        {
            return entry.Open();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: key '{key}' cannot be read; the archive is damaged or truncated ({e.Message})", e);
        }
    }

    private static NpyHeader ReadHeader(Stream stream, string path, string key)
    {
        string what = $"{path}: key '{key}'";
        NpyHeader header;
        try
        {
            header = Npy.ReadHeader(stream, what);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"{what}: cannot be read; the archive is damaged or truncated ({e.Message})", e);
        }

        if (header.Descr != Npy.Float32)
        {
            throw new InvalidDataException(
                $"{what}: dtype '{header.Descr}' with shape {header.ShapeText}, expected float32 '{Npy.Float32}'");
        }

        Npy.RequireCOrder(header, what);
        return header;
    }

    private static void ReadPayload(Stream stream, Tensor buffer, string path, string key)
    {
        string what = $"{path}: key '{key}'";
        try
        {
            Npy.ReadPayload(stream, buffer, what);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"{what}: cannot be read; the archive is damaged or truncated ({e.Message})", e);
        }
    }
}
