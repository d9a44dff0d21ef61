using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace BiT.Model.Tests.TestSupport;

/// <summary>
/// Writes .npz files the way numpy.savez does, independently of the code under test, so that tests can build
/// published-layout checkpoints (and broken ones) without relying on NpzWeights.Save.
/// </summary>
internal static class NpzWriter
{
    public sealed record Entry(string Name, string Descr, long[] Shape, byte[] Payload);

    public static Entry Float32(string key, long[] shape, Func<long, float> value)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        byte[] payload = new byte[count * 4];
        for (long i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(payload.AsSpan((int)(i * 4)), value(i));
        }

        return new Entry(key + ".npy", "<f4", shape, payload);
    }

    public static void Write(string path, IEnumerable<Entry> entries, CompressionLevel level = CompressionLevel.NoCompression)
    {
        using var archive = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var entry in entries)
        {
            using var stream = archive.CreateEntry(entry.Name, level).Open();
            stream.Write(Header(entry.Descr, entry.Shape));
            stream.Write(entry.Payload);
        }
    }

    public static byte[] Header(string descr, long[] shape, int version = 1)
    {
        string dims = shape.Length == 1
            ? $"{shape[0]},"
            : string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int prefix = version == 1 ? 10 : 12;
        int padding = 64 - ((prefix + dict.Length + 1) % 64);
        byte[] text = Encoding.ASCII.GetBytes(dict + new string(' ', padding % 64) + "\n");
        var header = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0 };
        if (version == 1)
        {
            header.Add((byte)(text.Length & 0xff));
            header.Add((byte)(text.Length >> 8));
        }
        else
        {
            header.AddRange(BitConverter.GetBytes((uint)text.Length));
        }

        header.AddRange(text);
        return [.. header];
    }
}
