using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace BiT.Model;

/// <summary>
/// Reads and writes numpy's <c>.npy</c> format (versions 1, 2 and 3) for little-endian float32 (<c>&lt;f4</c>) and
/// int64 (<c>&lt;i8</c>) arrays, in C order. Payloads move straight between the stream and tensor memory.
/// </summary>
public static partial class Npy
{
    /// <summary>The dtype descriptor of little-endian float32.</summary>
    public const string Float32 = "<f4";

    /// <summary>The dtype descriptor of little-endian int64.</summary>
    public const string Int64 = "<i8";

    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    // Payloads move in slices of 64 MiB so that a short stream is reported as soon as it ends.
    private const int Slice = 1 << 26;

    /// <summary>Reads a header; <paramref name="what"/> names the array (file or key) in error messages.</summary>
    /// <exception cref="InvalidDataException">Not a .npy stream, or a header that cannot be parsed.</exception>
    public static NpyHeader ReadHeader(Stream stream, string what)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> prefix = stackalloc byte[8];
        ReadFully(stream, prefix, what, "the .npy magic");
        if (!prefix[..6].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{what}: not a .npy array (the file does not start with \\x93NUMPY)");
        }

        int major = prefix[6];
        int headerLength;
        if (major == 1)
        {
            Span<byte> len = stackalloc byte[2];
            ReadFully(stream, len, what, "the header length");
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(len);
        }
        else if (major is 2 or 3)
        {
            Span<byte> len = stackalloc byte[4];
            ReadFully(stream, len, what, "the header length");
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(len);
            if (length > 1 << 20)
            {
                throw new InvalidDataException($"{what}: .npy header length {length} is implausibly large");
            }

            headerLength = (int)length;
        }
        else
        {
            throw new InvalidDataException($"{what}: unsupported .npy format version {major}.{prefix[7]} (1, 2 and 3 are supported)");
        }

        byte[] headerBytes = new byte[headerLength];
        ReadFully(stream, headerBytes, what, "the header");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        return ParseHeader(header, major, what);
    }

    /// <summary>Writes a version 1 header (version 2 if the header needs it), padded to 64 bytes as numpy does.</summary>
    public static void WriteHeader(Stream stream, string descr, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(shape);
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {FormatShape(shape)}, }}";
        int version = dict.Length + 1 + 10 <= ushort.MaxValue ? 1 : 2;
        int prefixLength = version == 1 ? 10 : 12;
        int total = prefixLength + dict.Length + 1;
        int padded = (total + 63) / 64 * 64;
        string text = dict + new string(' ', padded - total) + "\n";
        byte[] bytes = Encoding.Latin1.GetBytes(text);

        stream.Write(Magic);
        stream.WriteByte((byte)version);
        stream.WriteByte(0);
        Span<byte> len = stackalloc byte[4];
        if (version == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)bytes.Length);
            stream.Write(len[..2]);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)bytes.Length);
            stream.Write(len);
        }

        stream.Write(bytes);
    }

    /// <summary>Reads a float32 or int64 .npy file into a new CPU tensor.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a float32/int64 C-order .npy, or is truncated.</exception>
    public static Tensor Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such .npy file", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, path);
    }

    /// <summary>Reads a float32 or int64 array from a stream; <paramref name="what"/> names it in errors.</summary>
    public static Tensor Read(Stream stream, string what)
    {
        var header = ReadHeader(stream, what);
        ScalarType type = header.Descr switch
        {
            Float32 => ScalarType.Float32,
            Int64 => ScalarType.Int64,
            _ => throw new InvalidDataException(
                $"{what}: dtype '{header.Descr}' is not supported; expected float32 '{Float32}' or int64 '{Int64}'"),
        };
        RequireCOrder(header, what);
        long bytes = PayloadBytes(header, type == ScalarType.Float32 ? 4 : 8, what);
        if (stream.CanSeek && stream.Length - stream.Position < bytes)
        {
            // Sized from the file, never from the header alone: a header claiming a huge shape is refused here.
            throw new InvalidDataException(
                $"{what}: the header's shape {header.ShapeText} needs {bytes} bytes of data, the file holds {stream.Length - stream.Position} (truncated or not this array)");
        }
        var tensor = empty([.. header.Shape], type);
        try
        {
            ReadPayload(stream, tensor, what);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>The payload size a header declares, or an error when it overflows what one tensor can hold.</summary>
    internal static long PayloadBytes(NpyHeader header, int elementSize, string what)
    {
        long bytes = elementSize;
        foreach (long d in header.Shape)
        {
            if (d < 0 || (d > 0 && bytes > int.MaxValue * 64L / d))
            {
                throw new InvalidDataException($"{what}: the .npy shape {header.ShapeText} is too large for one array");
            }

            bytes *= d;
        }

        return bytes;
    }

    /// <summary>Writes a float32 or int64 tensor as a .npy file (through a temporary file, then a rename).</summary>
    public static void Write(string path, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(path);
        string temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Write(stream, tensor);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Writes a float32 or int64 tensor (any device, any layout) as .npy to a stream.</summary>
    public static void Write(Stream stream, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        string descr = tensor.dtype switch
        {
            ScalarType.Float32 => Float32,
            ScalarType.Int64 => Int64,
            _ => throw new ArgumentException($"only float32 and int64 tensors can be written as .npy; got {tensor.dtype}", nameof(tensor)),
        };
        WriteHeader(stream, descr, tensor.shape);
        WritePayload(stream, tensor);
    }

    /// <summary>Formats a shape as numpy does: <c>()</c>, <c>(5,)</c>, <c>(7, 7, 3, 64)</c>.</summary>
    public static string FormatShape(IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return shape.Count == 1
            ? $"({shape[0].ToString(CultureInfo.InvariantCulture)},)"
            : "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")";
    }

    /// <summary>Fills a contiguous CPU tensor with the payload that follows a header.</summary>
    internal static void ReadPayload(Stream stream, Tensor destination, string what)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException(".npy payloads are read only on little-endian hosts");
        }

        // A span over the tensor's own memory: the payload is never staged in a managed copy.
        Span<byte> memory = destination.bytes;
        int total = memory.Length;
        for (int done = 0; done < total;)
        {
            int chunk = Math.Min(Slice, total - done);
            int read = stream.ReadAtLeast(memory.Slice(done, chunk), chunk, throwOnEndOfStream: false);
            done += read;
            if (read < chunk)
            {
                throw new InvalidDataException($"{what}: the data ends after {done} of {total} bytes (truncated file?)");
            }
        }
    }

    /// <summary>Writes a tensor's elements in C order, little-endian.</summary>
    internal static void WritePayload(Stream stream, Tensor tensor)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException(".npy payloads are written only on little-endian hosts");
        }

        using var scope = NewDisposeScope();
        var source = tensor.detach().cpu().contiguous();
        ReadOnlySpan<byte> memory = source.bytes;
        for (int done = 0; done < memory.Length;)
        {
            int chunk = Math.Min(Slice, memory.Length - done);
            stream.Write(memory.Slice(done, chunk));
            done += chunk;
        }
    }

    internal static void RequireCOrder(NpyHeader header, string what)
    {
        if (header.FortranOrder)
        {
            throw new InvalidDataException($"{what}: Fortran-order (column-major) arrays are not supported; save it in C order");
        }
    }

    private static NpyHeader ParseHeader(string header, int version, string what)
    {
        var descr = DescrField().Match(header);
        var fortran = FortranField().Match(header);
        var shape = ShapeField().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success)
        {
            throw new InvalidDataException($"{what}: the .npy header is not a numpy array description: {header.Trim()}");
        }

        var dims = new List<long>();
        foreach (string part in shape.Groups["dims"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string digits = part.TrimEnd('L');
            if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long dim))
            {
                throw new InvalidDataException($"{what}: the .npy shape ({shape.Groups["dims"].Value}) is not a tuple of sizes");
            }

            dims.Add(dim);
        }

        return new NpyHeader(descr.Groups["v"].Value, fortran.Groups["v"].Value == "True", dims, version);
    }

    private static void ReadFully(Stream stream, Span<byte> buffer, string what, string part)
    {
        int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
        {
            throw new InvalidDataException($"{what}: the .npy stream ends inside {part} (truncated or not a .npy)");
        }
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""](?<v>[^'""]*)['""]", RegexOptions.CultureInvariant)]
    private static partial Regex DescrField();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(?<v>True|False)", RegexOptions.CultureInvariant)]
    private static partial Regex FortranField();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\((?<dims>[^)]*)\)", RegexOptions.CultureInvariant)]
    private static partial Regex ShapeField();
}
