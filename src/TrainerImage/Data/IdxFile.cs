using System.Buffers.Binary;
using System.IO.Compression;

namespace BiT.Trainer.Data;

/// <summary>An unsigned-byte IDX array (the MNIST / Fashion-MNIST file format), read from a raw or gzip file.</summary>
public sealed record IdxFile(int[] Dimensions, byte[] Data)
{
    private const byte UnsignedByteType = 0x08;

    public static IdxFile Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = ReadAllMaybeGzip(path);
        }
        catch (InvalidDataException e)
        {
            throw new DataException($"{path}: not a valid gzip stream ({e.Message})", e);
        }
        catch (IOException e)
        {
            throw new DataException($"{path}: cannot be read ({e.Message})", e);
        }
        return Parse(bytes, path);
    }

    public static IdxFile Parse(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0)
        {
            throw new DataException($"{source}: bad IDX magic number (expected 00 00 <type> <dims>)");
        }
        if (bytes[2] != UnsignedByteType)
        {
            throw new DataException($"{source}: IDX element type 0x{bytes[2]:x2} is not supported (expected 0x08, unsigned byte)");
        }
        int rank = bytes[3];
        if (rank is < 1 or > 4)
        {
            throw new DataException($"{source}: IDX rank {rank} is not supported (expected 1 to 4 dimensions)");
        }
        if (bytes.Length < 4 + (4 * rank))
        {
            throw new DataException($"{source}: IDX header is truncated");
        }
        var dims = new int[rank];
        long expected = 1;
        for (var i = 0; i < rank; i++)
        {
            var d = BinaryPrimitives.ReadUInt32BigEndian(bytes.Slice(4 + (4 * i), 4));
            if (d == 0 || d > int.MaxValue)
            {
                throw new DataException($"{source}: IDX dimension {i} is {d}");
            }
            dims[i] = (int)d;
            expected *= d;
        }
        var payload = bytes[(4 + (4 * rank))..];
        if (payload.Length != expected)
        {
            throw new DataException(
                $"{source}: IDX size mismatch: dimensions [{string.Join(", ", dims)}] need {expected} bytes, the file holds {payload.Length}");
        }
        return new IdxFile(dims, payload.ToArray());
    }

    /// <summary>
    /// Reads the file, decompressing gzip, but never more than the IDX header declares (plus one byte to detect
    /// excess): a small gzip bomb ends at the declared size instead of filling memory. Growth follows the bytes
    /// actually read, so a header that over-declares costs nothing either.
    /// </summary>
    private static byte[] ReadAllMaybeGzip(string path)
    {
        using var file = File.OpenRead(path);
        var b0 = file.ReadByte();
        var b1 = file.ReadByte();
        file.Position = 0;
        using Stream input = b0 == 0x1f && b1 == 0x8b ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var output = new MemoryStream();
        var head = new byte[4 + (4 * 4)];
        var got = input.ReadAtLeast(head.AsSpan(0, 4), 4, throwOnEndOfStream: false);
        output.Write(head, 0, got);
        if (got < 4 || head[3] is < 1 or > 4)
        {
            return output.ToArray(); // Parse names the defect
        }
        var dimBytes = 4 * head[3];
        var more = input.ReadAtLeast(head.AsSpan(4, dimBytes), dimBytes, throwOnEndOfStream: false);
        output.Write(head, 4, more);
        if (more < dimBytes)
        {
            return output.ToArray();
        }
        long declared = 1;
        for (var i = 0; i < head[3]; i++)
        {
            declared = Math.Min(declared * BinaryPrimitives.ReadUInt32BigEndian(head.AsSpan(4 + (4 * i), 4)), Array.MaxLength);
        }
        var limit = Math.Min(declared + 1, Array.MaxLength - output.Length);
        var buffer = new byte[1 << 16];
        while (limit > 0)
        {
            var n = input.Read(buffer, 0, (int)Math.Min(buffer.Length, limit));
            if (n == 0)
            {
                break;
            }
            output.Write(buffer, 0, n);
            limit -= n;
        }
        return output.ToArray();
    }
}
