using System.Text;
using BiT.Model;
using BiT.Model.Tests.TestSupport;
using static TorchSharp.torch;

namespace BiT.Model.Tests.Weights;

public sealed class NpyTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Reads_float32_with_every_header_version(int version)
    {
        string path = _dir.File($"v{version}.npy");
        float[] values = [1.5f, -2f, 3.25f, 0f, 7f, -0.5f];
        byte[] payload = values.SelectMany(BitConverter.GetBytes).ToArray();
        File.WriteAllBytes(path, [.. NpzWriter.Header("<f4", [2, 3], version), .. payload]);

        using var t = Npy.Read(path);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(values, t.data<float>().ToArray());
    }

    [Fact]
    public void Float32_and_int64_round_trip_with_numpy_headers()
    {
        using var f = arange(24, ScalarType.Float32).reshape(2, 3, 4) / 3;
        using var i = tensor(new long[] { -1, 0, long.MaxValue });
        Npy.Write(_dir.File("f.npy"), f);
        Npy.Write(_dir.File("i.npy"), i);

        byte[] raw = File.ReadAllBytes(_dir.File("f.npy"));
        string header = Encoding.ASCII.GetString(raw, 10, raw[8] | (raw[9] << 8));
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }", header, StringComparison.Ordinal);
        Assert.Equal(0, (10 + header.Length) % 64);
        Assert.EndsWith("\n", header, StringComparison.Ordinal);

        using var f2 = Npy.Read(_dir.File("f.npy"));
        using var i2 = Npy.Read(_dir.File("i.npy"));
        Assert.True(f.allclose(f2, 0, 0));
        Assert.Equal(ScalarType.Int64, i2.dtype);
        Assert.Equal(new long[] { -1, 0, long.MaxValue }, i2.data<long>().ToArray());
        Assert.Equal("(3,)", Npy.FormatShape(i2.shape));
    }

    [Fact]
    public void Non_contiguous_tensors_are_written_in_c_order()
    {
        using var t = arange(6, ScalarType.Float32).reshape(2, 3).t();
        Npy.Write(_dir.File("t.npy"), t);
        using var back = Npy.Read(_dir.File("t.npy"));
        Assert.Equal(new long[] { 3, 2 }, back.shape);
        Assert.Equal(new[] { 0f, 3, 1, 4, 2, 5 }, back.data<float>().ToArray());
    }

    [Theory]
    [InlineData("<f8", false, "dtype '<f8' is not supported")]
    [InlineData(">f4", false, "dtype '>f4' is not supported")]
    [InlineData("<f4", true, "Fortran-order")]
    public void Unsupported_layouts_are_refused_by_name(string descr, bool fortran, string expected)
    {
        string path = _dir.File("bad.npy");
        string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': (2,), }}".PadRight(117) + "\n";
        File.WriteAllBytes(path, [0x93, .. "NUMPY"u8, 1, 0, (byte)dict.Length, 0, .. Encoding.ASCII.GetBytes(dict), .. new byte[16]]);
        var e = Assert.Throws<InvalidDataException>(() => Npy.Read(path));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Not_npy_and_truncated_data_are_reported()
    {
        string text = _dir.File("text.npy");
        File.WriteAllText(text, "hello, this is text");
        Assert.Contains("not a .npy array", Assert.Throws<InvalidDataException>(() => Npy.Read(text)).Message, StringComparison.Ordinal);

        string shortFile = _dir.File("short.npy");
        File.WriteAllBytes(shortFile, [.. NpzWriter.Header("<f4", [10]), .. new byte[12]]);
        Assert.Contains("needs 40 bytes of data, the file holds 12", Assert.Throws<InvalidDataException>(() => Npy.Read(shortFile)).Message, StringComparison.Ordinal);
    }
}
