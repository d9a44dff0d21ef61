using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace BiT.Monitoring.DashboardPicture;

/// <summary>
/// The picture's provenance in its own metadata: a PNG <c>tEXt</c> chunk with the SHA-256 of the recording it was
/// drawn from, so a test can tell that the committed picture shows the committed recording.
/// </summary>
public static class PngText
{
    /// <summary>The keyword of the chunk that holds the recording's SHA-256 (hex).</summary>
    public const string RecordingSha256 = "bit:recording-sha256";

    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>SHA-256 of a recording file's bytes, lower-case hex.</summary>
    public static string Sha256Of(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    /// <summary>Returns <paramref name="png"/> with a tEXt chunk <paramref name="keyword"/>=<paramref name="text"/> before IEND.</summary>
    public static byte[] Stamp(byte[] png, string keyword, string text)
    {
        var chunks = Chunks(png).ToList();
        var iend = chunks.FindIndex(c => c.Type == "IEND");
        if (iend < 0)
        {
            throw new InvalidDataException("not a PNG: no IEND chunk");
        }

        var data = Encoding.Latin1.GetBytes(keyword).Concat(new byte[] { 0 }).Concat(Encoding.Latin1.GetBytes(text)).ToArray();
        var type = Encoding.ASCII.GetBytes("tEXt");
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)data.Length);
        type.CopyTo(chunk, 4);
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32([.. type, .. data]));
        var at = chunks[iend].Offset;
        return [.. png.AsSpan(0, at), .. chunk, .. png.AsSpan(at)];
    }

    /// <summary>The text of the tEXt chunk named <paramref name="keyword"/>, or null.</summary>
    public static string? Read(byte[] png, string keyword)
    {
        foreach (var (type, offset, length) in Chunks(png))
        {
            if (type != "tEXt")
            {
                continue;
            }

            var data = png.AsSpan(offset + 8, length);
            var nul = data.IndexOf((byte)0);
            if (nul > 0 && Encoding.Latin1.GetString(data[..nul]) == keyword)
            {
                return Encoding.Latin1.GetString(data[(nul + 1)..]);
            }
        }

        return null;
    }

    // PNG's CRC-32 (ISO 3309, reflected 0xEDB88320) over the chunk type and data.
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return crc ^ 0xFFFFFFFFu;
    }

    private static IEnumerable<(string Type, int Offset, int Length)> Chunks(byte[] png)
    {
        if (png.Length < Signature.Length || !png.AsSpan(0, Signature.Length).SequenceEqual(Signature))
        {
            throw new InvalidDataException("not a PNG: bad signature");
        }

        for (var at = Signature.Length; at + 12 <= png.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            var type = Encoding.ASCII.GetString(png, at + 4, 4);
            yield return (type, at, length);
            at += 12 + length;
        }
    }
}
