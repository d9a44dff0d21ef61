using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BiT.Trainer.Checkpoints;

/// <summary>
/// The checkpoint file: 8-byte magic <c>BITCKPT2</c>, a 4-byte little-endian header length, a UTF-8 JSON header
/// (step, plan hash, seed, tensor table, payload length), the tensors' bytes back to back, then the SHA-256 of
/// everything before it (32 bytes). The header is readable with <c>head -c</c>; the digest covers the header together
/// with the payload, so an edited step or tensor table is caught like a torn or bit-flipped payload, before anything
/// is loaded. Every header field is checked against the file's own size before a byte is allocated for it.
/// </summary>
public static partial class CheckpointFile
{
    private static readonly byte[] Magic = "BITCKPT2"u8.ToArray();
    private const int MaxHeaderBytes = 64 << 20;
    private const int DigestBytes = 32;
    private const int FormatVersion = 2;

    public static void Write(Stream output, CheckpointState state)
    {
        var entries = new List<TensorEntry>();
        long offset = 0;
        foreach (var t in state.Tensors)
        {
            entries.Add(new TensorEntry(t.Name, t.DType, t.Shape, offset, t.Data.LongLength));
            offset += t.Data.LongLength;
        }
        var header = new Header(FormatVersion, state.Step, state.PlanHash, state.Seed, state.SamplesSeen, state.Created, offset, entries);
        var headerBytes = JsonSerializer.SerializeToUtf8Bytes(header, CheckpointJson.Default.Header);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, headerBytes.Length);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Emit(output, sha, Magic);
        Emit(output, sha, length);
        Emit(output, sha, headerBytes);
        foreach (var t in state.Tensors)
        {
            Emit(output, sha, t.Data);
        }
        output.Write(sha.GetHashAndReset());
    }

    private static void Emit(Stream output, IncrementalHash sha, ReadOnlySpan<byte> bytes)
    {
        sha.AppendData(bytes);
        output.Write(bytes);
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

    /// <summary>
    /// Reads only the header (step and plan hash), checked for consistency but not authenticated: enough to choose
    /// which file to read; <see cref="Read(string)"/> authenticates it with the payload before anything is used.
    /// </summary>
    public static (int Step, string PlanHash) ReadSummary(string path)
    {
        using var input = File.OpenRead(path);
        var (header, _) = ReadHeader(input, path);
        return (header.Step, header.PlanHash);
    }

    /// <summary>Reads and authenticates a checkpoint from a seekable stream; <paramref name="path"/> names it in errors.</summary>
    public static CheckpointState Read(Stream input, string path)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (header, headerBytes) = ReadHeader(input, path);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, headerBytes.Length);
        sha.AppendData(Magic);
        sha.AppendData(length);
        sha.AppendData(headerBytes);
        var tensors = new List<TensorData>(header.Tensors.Count);
        foreach (var entry in header.Tensors)
        {
            // Bounded: ReadHeader checked that the lengths add up to the bytes the file really holds.
            var data = new byte[entry.Length];
            input.ReadExactly(data);
            sha.AppendData(data);
            tensors.Add(new TensorData(entry.Name, entry.DType, entry.Shape, data));
        }
        Span<byte> recorded = stackalloc byte[DigestBytes];
        input.ReadExactly(recorded);
        if (!CryptographicOperations.FixedTimeEquals(sha.GetHashAndReset(), recorded))
        {
            throw new CorruptCheckpointException($"{path}: the SHA-256 of the header and payload does not match the one recorded (a torn, bit-flipped or edited file)");
        }
        return new CheckpointState(header.Step, header.PlanHash, header.Seed, header.SamplesSeen, tensors, header.Created);
    }

    private static (Header Header, byte[] Bytes) ReadHeader(Stream input, string path)
    {
        Span<byte> prefix = stackalloc byte[12];
        if (input.ReadAtLeast(prefix, 12, throwOnEndOfStream: false) < 12 || !prefix[..8].SequenceEqual(Magic))
        {
            throw new CorruptCheckpointException($"{path}: not a BiT trainer checkpoint of format {FormatVersion} (bad magic)");
        }
        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix[8..]);
        if (length <= 0 || length > MaxHeaderBytes || length > input.Length - 12 - DigestBytes)
        {
            throw new CorruptCheckpointException($"{path}: header length {length} is invalid (truncated file?)");
        }
        var bytes = new byte[length];
        input.ReadExactly(bytes);
        Header? header;
        try
        {
            header = JsonSerializer.Deserialize(bytes, CheckpointJson.Default.Header);
        }
        catch (JsonException e)
        {
            throw new CorruptCheckpointException($"{path}: header is not valid JSON ({OneLine(e.Message)})", e);
        }
        var payload = input.Length - 12 - length - DigestBytes;
        Check(header, payload, path);
        return (header!, bytes);
    }

    /// <summary>Every header field, against what the code can hold and what the file holds.</summary>
    private static void Check(Header? header, long payloadInFile, string path)
    {
        string? defect = header switch
        {
            null => "the header is empty",
            { Format: not FormatVersion } => $"format {header.Format} is not {FormatVersion}",
            { Step: < 0 } => $"step {header.Step} is negative",
            { PlanHash: null or "" } => "the plan hash is missing",
            { Tensors: null } => "the tensor table is missing",
            { PayloadLength: var p } when p != payloadInFile => $"the payload is {payloadInFile} bytes, the header says {p} (partial write?)",
            _ => null,
        };
        if (defect is null)
        {
            long offset = 0;
            for (var i = 0; i < header!.Tensors!.Count && defect is null; i++)
            {
                defect = CheckEntry(header.Tensors[i], i, offset);
                offset += header.Tensors[i]?.Length ?? 0;
            }
            if (defect is null && offset != header.PayloadLength)
            {
                defect = $"the tensors add up to {offset} bytes, the header says {header.PayloadLength}";
            }
        }
        if (defect is not null)
        {
            throw new CorruptCheckpointException($"{path}: bad header: {defect}");
        }
    }

    private static string? CheckEntry(TensorEntry? entry, int index, long offset)
    {
        if (entry is null || string.IsNullOrEmpty(entry.Name) || entry.DType is null || entry.Shape is null)
        {
            return $"tensor {index} lacks a name, dtype or shape";
        }
        if (ElementSize(entry.DType) is not { } size)
        {
            return $"tensor {entry.Name} has unknown dtype '{entry.DType}'";
        }
        if (entry.Offset != offset || entry.Length < 0 || entry.Length > Array.MaxLength)
        {
            return $"tensor {entry.Name} has offset {entry.Offset} and length {entry.Length} (expected offset {offset})";
        }
        long count = 1;
        foreach (var d in entry.Shape)
        {
            if (d < 0 || (d > 0 && count > long.MaxValue / d))
            {
                return $"tensor {entry.Name} has shape [{string.Join(", ", entry.Shape)}]";
            }
            count *= d;
        }
        if (count > long.MaxValue / size || count * size != entry.Length)
        {
            return $"tensor {entry.Name} of shape [{string.Join(", ", entry.Shape)}] needs {count} elements, the header gives {entry.Length} bytes";
        }
        return null;
    }

    private static int? ElementSize(string dtype) => dtype switch
    {
        "Float32" or "Int32" => 4,
        "Float64" or "Int64" => 8,
        "Float16" or "BFloat16" or "Int16" => 2,
        "Byte" or "Int8" or "Bool" => 1,
        _ => null,
    };

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    internal sealed record TensorEntry(string Name, string DType, long[] Shape, long Offset, long Length);

    internal sealed record Header(
        int Format,
        int Step,
        string PlanHash,
        long Seed,
        long SamplesSeen,
        DateTimeOffset Created,
        long PayloadLength,
        IReadOnlyList<TensorEntry> Tensors);

    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
    [JsonSerializable(typeof(Header))]
    internal sealed partial class CheckpointJson : JsonSerializerContext;
}
