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

    private static byte[] ReadAllMaybeGzip(string path)
    {
        using var file = File.OpenRead(path);
        var b0 = file.ReadByte();
        var b1 = file.ReadByte();
        file.Position = 0;
        using var output = new MemoryStream();
        if (b0 == 0x1f && b1 == 0x8b)
        {
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            gzip.CopyTo(output);
        }
        else
        {
            file.CopyTo(output);
        }
        return output.ToArray();
    }
}
