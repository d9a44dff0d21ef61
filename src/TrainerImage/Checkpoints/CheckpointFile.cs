using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BiT.Trainer.Checkpoints;

/// <summary>
/// The checkpoint file: 8-byte magic <c>BITCKPT1</c>, a 4-byte little-endian header length, a UTF-8 JSON header
/// (step, plan hash, seed, tensor table, payload SHA-256), then the tensors' bytes back to back. The header is
/// readable with <c>head -c</c>; the hash makes a torn or bit-flipped file detectable before anything is loaded.
/// </summary>
public static partial class CheckpointFile
{
    private static readonly byte[] Magic = "BITCKPT1"u8.ToArray();
    private const int MaxHeaderBytes = 64 << 20;

    public static void Write(Stream output, CheckpointState state)
    {
        var entries = new List<TensorEntry>();
        long offset = 0;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in state.Tensors)
        {
            entries.Add(new TensorEntry(t.Name, t.DType, t.Shape, offset, t.Data.LongLength));
            sha.AppendData(t.Data);
            offset += t.Data.LongLength;
        }
        var header = new Header(1, state.Step, state.PlanHash, state.Seed, state.SamplesSeen, state.Created, offset, Convert.ToHexStringLower(sha.GetHashAndReset()), entries);
        var headerBytes = JsonSerializer.SerializeToUtf8Bytes(header, CheckpointJson.Default.Header);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, headerBytes.Length);
        output.Write(Magic);
        output.Write(length);
        output.Write(headerBytes);
        foreach (var t in state.Tensors)
        {
            output.Write(t.Data);
        }
    }

    public static CheckpointState Read(string path)
    {
        try
        {
            using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            return Read(input, path);
        }
        catch (IOException e)
        {
            throw new CorruptCheckpointException($"{path}: cannot be read ({e.Message})", e);
        }
    }

    /// <summary>Reads only the header (step and plan hash), without the payload or its hash check.</summary>
    public static (int Step, string PlanHash) ReadSummary(string path)
    {
        using var input = File.OpenRead(path);
        var header = ReadHeader(input, path);
        return (header.Step, header.PlanHash);
    }

    private static CheckpointState Read(Stream input, string path)
    {
        var header = ReadHeader(input, path);
        var remaining = input.Length - input.Position;
        if (remaining != header.PayloadLength)
        {
            throw new CorruptCheckpointException($"{path}: payload is {remaining} bytes, the header says {header.PayloadLength} (partial write?)");
        }
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var tensors = new List<TensorData>(header.Tensors.Count);
        foreach (var entry in header.Tensors)
        {
            var data = new byte[entry.Length];
            input.ReadExactly(data);
            sha.AppendData(data);
            tensors.Add(new TensorData(entry.Name, entry.DType, entry.Shape, data));
        }
        var actual = Convert.ToHexStringLower(sha.GetHashAndReset());
        if (!string.Equals(actual, header.PayloadSha256, StringComparison.Ordinal))
        {
            throw new CorruptCheckpointException($"{path}: payload SHA-256 {actual} does not match the recorded {header.PayloadSha256}");
        }
        return new CheckpointState(header.Step, header.PlanHash, header.Seed, header.SamplesSeen, tensors, header.Created);
    }

    private static Header ReadHeader(Stream input, string path)
    {
        Span<byte> prefix = stackalloc byte[12];
        if (input.ReadAtLeast(prefix, 12, throwOnEndOfStream: false) < 12 || !prefix[..8].SequenceEqual(Magic))
        {
            throw new CorruptCheckpointException($"{path}: not a BiT trainer checkpoint (bad magic)");
        }
        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix[8..]);
        if (length <= 0 || length > MaxHeaderBytes || length > input.Length - 12)
        {
            throw new CorruptCheckpointException($"{path}: header length {length} is invalid (truncated file?)");
        }
        var bytes = new byte[length];
        input.ReadExactly(bytes);
        try
        {
            return JsonSerializer.Deserialize(bytes, CheckpointJson.Default.Header)
                ?? throw new CorruptCheckpointException($"{path}: empty header");
        }
        catch (JsonException e)
        {
            throw new CorruptCheckpointException($"{path}: header is not valid JSON ({e.Message})", e);
        }
    }

    internal sealed record TensorEntry(string Name, string DType, long[] Shape, long Offset, long Length);

    internal sealed record Header(
        int Format,
        int Step,
        string PlanHash,
        long Seed,
        long SamplesSeen,
        DateTimeOffset Created,
        long PayloadLength,
        string PayloadSha256,
        IReadOnlyList<TensorEntry> Tensors);

    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
    [JsonSerializable(typeof(Header))]
    internal sealed partial class CheckpointJson : JsonSerializerContext;
}
