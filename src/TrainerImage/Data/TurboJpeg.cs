using System.Runtime.InteropServices;

namespace BiT.Trainer.Data;

/// <summary>
/// JPEG decoding through libjpeg-turbo's TurboJPEG API (Debian's <c>libturbojpeg0</c>, built with its SIMD code),
/// straight into a caller's buffer, optionally at 1/2, 1/4 or 1/8 scale (the DCT-domain shrink-on-load). Loaded
/// once by name; where the library is missing <see cref="IsAvailable"/> is false and callers use SkiaSharp.
/// One decompressor per thread, made on first use.
/// </summary>
internal static unsafe class TurboJpeg
{
    private const int PixelFormatRgb = 0;
    private const int PixelFormatGray = 6;
    // TJFLAG_STOPONWARNING: a truncated or damaged file is an error (training counts it as corrupt), not half an image.
    private const int StopOnWarning = 8192;

    private static readonly Api? Functions = Bind();
    private static readonly int[] Divisors = [8, 4, 2];

    [ThreadStatic]
    private static IntPtr _decompressor;

    /// <summary>Whether libturbojpeg.so.0 was found and exports what is used.</summary>
    public static bool IsAvailable => Functions is not null;

    /// <summary>The library's file, for the start-up line.</summary>
    public static string? LibraryName { get; private set; }

    /// <summary>Whether the bytes start like a JPEG (SOI marker).</summary>
    public static bool LooksLikeJpeg(ReadOnlySpan<byte> data) => data.Length > 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;

    /// <summary>Reads the size and whether the image is grayscale; false where the header is not readable.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> jpeg, out int width, out int height, out bool gray)
    {
        width = height = 0;
        gray = false;
        var api = Functions ?? throw new InvalidOperationException("libturbojpeg is not available");
        int w, h, subsampling, colorspace;
        fixed (byte* data = jpeg)
        {
            if (api.Header(Decompressor(api), data, (nuint)jpeg.Length, &w, &h, &subsampling, &colorspace) != 0)
            {
                Discard(api);
                return false;
            }
        }
        // TJCS_GRAY = 2; TJSAMP_GRAY = 3.
        (width, height, gray) = (w, h, colorspace == 2 || subsampling == 3);
        return w > 0 && h > 0;
    }

    /// <summary>
    /// The largest reduction among 1, 1/2, 1/4, 1/8 that keeps both sides at least the minimum (0: no reduction),
    /// as a divisor, and the decoded size libjpeg-turbo gives for it (sides rounded up).
    /// </summary>
    public static (int Divisor, int Width, int Height) ShrinkFor(int width, int height, int minWidth, int minHeight)
    {
        foreach (var divisor in Divisors)
        {
            var (w, h) = (Scaled(width, divisor), Scaled(height, divisor));
            if (minWidth > 0 && minHeight > 0 && w >= minWidth && h >= minHeight)
            {
                return (divisor, w, h);
            }
        }
        return (1, width, height);
    }

    /// <summary>
    /// Decodes to <paramref name="destination"/> at the given decoded size (one of <see cref="ShrinkFor"/>'s), RGB or
    /// gray. Returns null on success, else libjpeg-turbo's message.
    /// </summary>
    public static string? Decode(ReadOnlySpan<byte> jpeg, int width, int height, bool gray, Span<byte> destination)
    {
        var api = Functions ?? throw new InvalidOperationException("libturbojpeg is not available");
        var channels = gray ? 1 : 3;
        if (destination.Length < (long)width * height * channels)
        {
            throw new ArgumentException("destination too small", nameof(destination));
        }
        var handle = Decompressor(api);
        fixed (byte* data = jpeg)
        fixed (byte* output = destination)
        {
            if (api.Decompress(handle, data, (nuint)jpeg.Length, output, width, width * channels, height, gray ? PixelFormatGray : PixelFormatRgb, StopOnWarning) == 0)
            {
                return null;
            }
        }
        var message = Marshal.PtrToStringUTF8(api.Error(handle)) ?? "libjpeg-turbo failed";
        Discard(api);
        return message;
    }

    private static int Scaled(int side, int divisor) => (side + divisor - 1) / divisor;

    private static IntPtr Decompressor(Api api)
    {
        if (_decompressor == IntPtr.Zero)
        {
            // One per decode thread for the life of the thread (a few KB); the worker threads are long-lived.
            _decompressor = api.Init();
            if (_decompressor == IntPtr.Zero)
            {
                throw new InvalidOperationException("tjInitDecompress failed");
            }
        }
        return _decompressor;
    }

    /// <summary>
    /// Destroys this thread's decompressor after a failure. libjpeg-turbo returns from some header errors without
    /// resetting the decompressor, which then refuses every later file ("two SOI markers"): a damaged file among
    /// the training images made every later JPEG on that decode thread fall back to the slow decoder.
    /// </summary>
    private static void Discard(Api api)
    {
        if (_decompressor != IntPtr.Zero)
        {
            api.Destroy(_decompressor);
            _decompressor = IntPtr.Zero;
        }
    }

    private static Api? Bind()
    {
        foreach (var name in new[] { "libturbojpeg.so.0", "libturbojpeg.so" })
        {
            if (NativeLibrary.TryLoad(name, out var library)
                && NativeLibrary.TryGetExport(library, "tjInitDecompress", out var init)
                && NativeLibrary.TryGetExport(library, "tjDecompressHeader3", out var header)
                && NativeLibrary.TryGetExport(library, "tjDecompress2", out var decompress)
                && NativeLibrary.TryGetExport(library, "tjGetErrorStr2", out var error)
                && NativeLibrary.TryGetExport(library, "tjDestroy", out var destroy))
            {
                LibraryName = name;
                return new Api(
                    (delegate* unmanaged<IntPtr>)init,
                    (delegate* unmanaged<IntPtr, byte*, nuint, int*, int*, int*, int*, int>)header,
                    (delegate* unmanaged<IntPtr, byte*, nuint, byte*, int, int, int, int, int, int>)decompress,
                    (delegate* unmanaged<IntPtr, IntPtr>)error,
                    (delegate* unmanaged<IntPtr, int>)destroy);
            }
        }
        return null;
    }

    private sealed class Api(
        delegate* unmanaged<IntPtr> init,
        delegate* unmanaged<IntPtr, byte*, nuint, int*, int*, int*, int*, int> header,
        delegate* unmanaged<IntPtr, byte*, nuint, byte*, int, int, int, int, int, int> decompress,
        delegate* unmanaged<IntPtr, IntPtr> error,
        delegate* unmanaged<IntPtr, int> destroy)
    {
        public IntPtr Init() => init();

        public int Header(IntPtr handle, byte* data, nuint size, int* width, int* height, int* subsampling, int* colorspace) =>
            header(handle, data, size, width, height, subsampling, colorspace);

        public int Decompress(IntPtr handle, byte* data, nuint size, byte* output, int width, int pitch, int height, int format, int flags) =>
            decompress(handle, data, size, output, width, pitch, height, format, flags);

        public IntPtr Error(IntPtr handle) => error(handle);

        public int Destroy(IntPtr handle) => destroy(handle);
    }
}
