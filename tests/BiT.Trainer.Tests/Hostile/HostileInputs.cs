using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using BiT.Trainer.Checkpoints;
using SkiaSharp;

namespace BiT.Trainer.Tests.Hostile;

/// <summary>Builders of valid trainer inputs and of hostile variants of them, shared by the hostile-input suite and the fuzzer.</summary>
internal static class HostileInputs
{
    public static CheckpointState State(int step, string plan = "plan-a") => new(
        step, plan, 7, step * 10L,
        [new TensorData("model/w", "Float32", [2, 2], [.. Enumerable.Range(0, 16).Select(i => (byte)(i + step))]), new TensorData("momentum/w", "Float32", [1], [1, 2, 3, 4])],
        DateTimeOffset.UnixEpoch);

    public static byte[] Checkpoint(int step, string plan = "plan-a")
    {
        using var stream = new MemoryStream();
        CheckpointFile.Write(stream, State(step, plan));
        return stream.ToArray();
    }

    /// <summary>The checkpoint's JSON header, edited, written back; the digest is recomputed when <paramref name="rehash"/>.</summary>
    public static byte[] EditHeader(byte[] file, Action<JsonObject> edit, bool rehash)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(8, 4));
        var header = JsonNode.Parse(file.AsSpan(12, length))!.AsObject();
        edit(header);
        return Rebuild(file, Encoding.UTF8.GetBytes(header.ToJsonString()), rehash);
    }

    public static byte[] ReplaceHeader(byte[] file, string headerText, bool rehash) => Rebuild(file, Encoding.UTF8.GetBytes(headerText), rehash);

    private static byte[] Rebuild(byte[] file, byte[] header, bool rehash)
    {
        var oldLength = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(8, 4));
        var rest = file.AsSpan(12 + oldLength).ToArray(); // payload + digest
        var output = new byte[12 + header.Length + rest.Length];
        file.AsSpan(0, 8).CopyTo(output);
        BinaryPrimitives.WriteInt32LittleEndian(output.AsSpan(8, 4), header.Length);
        header.CopyTo(output, 12);
        rest.CopyTo(output, 12 + header.Length);
        if (rehash)
        {
            SHA256.HashData(output.AsSpan(0, output.Length - 32)).CopyTo(output, output.Length - 32);
        }
        return output;
    }

    public static byte[] Npy(string descr, string shape, int payloadBytes, int version = 1, string? dict = null)
    {
        var text = dict ?? $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        text = text.PadRight(((text.Length + 12 + 63) / 64 * 64) - 12) + "\n";
        using var stream = new MemoryStream();
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0]);
        var bytes = Encoding.Latin1.GetBytes(text);
        if (version == 1)
        {
            stream.Write(BitConverter.GetBytes((ushort)bytes.Length));
        }
        else
        {
            stream.Write(BitConverter.GetBytes((uint)bytes.Length));
        }
        stream.Write(bytes);
        stream.Write(new byte[payloadBytes]);
        return stream.ToArray();
    }

    public static byte[] Idx(uint[] dims, int payloadBytes, byte type = 0x08)
    {
        var bytes = new byte[4 + (4 * dims.Length) + payloadBytes];
        bytes[2] = type;
        bytes[3] = (byte)dims.Length;
        for (var i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + (4 * i)), dims[i]);
        }
        return bytes;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }

    /// <summary>A gzip stream of an IDX header declaring <paramref name="declared"/> bytes followed by <paramref name="actual"/> zero bytes.</summary>
    public static byte[] GzipBomb(uint declared, long actual)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(Idx([declared], 0));
            var zeros = new byte[1 << 20];
            for (long done = 0; done < actual; done += zeros.Length)
            {
                gzip.Write(zeros, 0, (int)Math.Min(zeros.Length, actual - done));
            }
        }
        return output.ToArray();
    }

    public static byte[] Png(int width = 6, int height = 4)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(new SKColor(200, 10, 10));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 95);
        return data.ToArray();
    }

    public static byte[] Jpeg()
    {
        using var bitmap = new SKBitmap(16, 16);
        bitmap.Erase(new SKColor(10, 10, 200));
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    /// <summary>A PNG whose IHDR declares another size (with a valid CRC, so only the size is hostile).</summary>
    public static byte[] PngDeclaring(uint width, uint height)
    {
        var png = Png();
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        return ~crc;
    }
}
