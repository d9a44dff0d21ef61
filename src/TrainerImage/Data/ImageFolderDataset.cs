using SkiaSharp;

namespace BiT.Trainer.Data;

/// <summary>
/// One split of an image folder: <c>{dir}/{split}/{class}/*.jpg|png|...</c>, classes in ordinal name order.
/// Files whose header cannot be read are skipped (and counted) when the split is opened; files that fail later,
/// while decoding, are reported by <see cref="Load"/> with <see cref="CorruptImageException"/>.
/// </summary>
public sealed class ImageFolderDataset : IImageDataset
{
    private static readonly HashSet<string> Extensions =
        new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp" };

    private readonly string root;
    private readonly string[] files;
    private readonly int[] labels;

    private ImageFolderDataset(string root, string[] classNames, string[] files, int[] labels)
    {
        this.root = root;
        ClassNames = classNames;
        this.files = files;
        this.labels = labels;
    }

    public IReadOnlyList<string> ClassNames { get; }

    public int Count => files.Length;

    public int NumClasses => ClassNames.Count;

    public int LabelOf(int index) => labels[index];

    public string Describe(int index) => Path.GetRelativePath(root, files[index]);

    public RawImage Load(int index) => Decode(files[index]);


    public static ImageFolderDataset Open(string directory, DataSplit split, int numClasses, CorruptImageTracker? tracker, IReadOnlyList<string>? expectedClasses = null)
    {
        if (!Directory.Exists(directory))
        {
            throw new DataException($"dataset path {directory} does not exist");
        }
        var splitDir = Path.Combine(directory, split.DirectoryName());
        if (!Directory.Exists(splitDir))
        {
            throw new DataException($"dataset path {directory}: missing {split.DirectoryName()} split (expected a folder {splitDir} with one subfolder per class)");
        }
        var classDirs = Directory.GetDirectories(splitDir).Order(StringComparer.Ordinal).ToArray();
        var classNames = classDirs.Select(Path.GetFileName).Select(n => n!).ToArray();
        // numClasses 0: take the folders as they are (a class subset is chosen afterwards).
        if (numClasses > 0 && classNames.Length != numClasses)
        {
            throw new DataException($"{splitDir}: {classNames.Length} class folders, but numClasses is {numClasses}");
        }
        if (expectedClasses is not null && !expectedClasses.SequenceEqual(classNames, StringComparer.Ordinal))
        {
            throw new DataException($"{splitDir}: class folders [{string.Join(", ", classNames)}] differ from the train split's [{string.Join(", ", expectedClasses)}]");
        }
        var candidates = new List<(string File, int Label)>();
        for (var c = 0; c < classDirs.Length; c++)
        {
            var inClass = Directory.EnumerateFiles(classDirs[c], "*", SearchOption.AllDirectories)
                .Where(f => Extensions.Contains(Path.GetExtension(f)))
                .Order(StringComparer.Ordinal)
                .ToArray();
            if (inClass.Length == 0)
            {
                throw new DataException($"{classDirs[c]}: class '{classNames[c]}' has no images (.jpg, .jpeg, .png, .bmp, .gif, .webp)");
            }
            candidates.AddRange(inClass.Select(f => (f, c)));
        }
        tracker ??= new CorruptImageTracker(candidates.Count, CorruptImageTracker.DefaultThreshold, Console.Error.WriteLine);
        var reasons = new string?[candidates.Count];
        Parallel.For(0, candidates.Count, i => reasons[i] = HeaderProblem(candidates[i].File));
        var kept = new List<(string File, int Label)>();
        for (var i = 0; i < candidates.Count; i++)
        {
            if (reasons[i] is { } why)
            {
                tracker.Record(Path.GetRelativePath(directory, candidates[i].File), why);
            }
            else
            {
                kept.Add(candidates[i]);
            }
        }
        for (var c = 0; c < classNames.Length; c++)
        {
            if (!kept.Any(k => k.Label == c))
            {
                throw new DataException($"{classDirs[c]}: class '{classNames[c]}' has no readable images");
            }
        }
        return new ImageFolderDataset(directory, classNames, [.. kept.Select(k => k.File)], [.. kept.Select(k => k.Label)]);
    }

    private static string? HeaderProblem(string file)
    {
        try
        {
            using var codec = SKCodec.Create(file, out var result);
            return codec is null ? $"not a readable image ({result})" : BiT.Model.Imaging.ImageDecoder.SizeProblem(codec.Info.Width, codec.Info.Height);
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// Decodes a file at full size into a new array: JPEG with libjpeg-turbo (<see cref="TurboJpeg"/>) where
    /// available, everything else with SkiaSharp. Not the model library's ImageDecoder: that one accepts a truncated
    /// file (IncompleteInput) for prediction, while training must count such a file as corrupt rather than learn
    /// from a half-grey image.
    /// </summary>
    public static RawImage Decode(string file) => Decode(file, 0, 0, pooled: false);

    /// <summary>
    /// The image for a transform that only needs it at least <paramref name="minWidth"/> x <paramref name="minHeight"/>:
    /// a JPEG is decoded at 1/2, 1/4 or 1/8 scale where that still covers it, into this thread's buffer (valid until
    /// the thread's next call); the file is read into a per-thread buffer too, so steady state allocates nothing.
    /// </summary>
    public RawImage LoadForTransform(int index, int minWidth, int minHeight) => Decode(files[index], minWidth, minHeight, pooled: true);

    [ThreadStatic]
    private static byte[]? _fileBuffer;

    [ThreadStatic]
    private static byte[]? _pixelBuffer;

    private static RawImage Decode(string file, int minWidth, int minHeight, bool pooled)
    {
        if (!TurboJpeg.IsAvailable)
        {
            return DecodeWithSkia(file);
        }
        ReadOnlySpan<byte> bytes = ReadFile(file, pooled);
        if (!TurboJpeg.LooksLikeJpeg(bytes) || !TurboJpeg.TryReadHeader(bytes, out var width, out var height, out var gray))
        {
            // PNG, BMP, GIF, WebP, and JPEG variants libjpeg-turbo cannot read (its answer decides nothing here).
            return DecodeWithSkia(file);
        }
        // The declared size is checked before any pixel buffer is sized by it (a few bytes can declare 65535 x 65535).
        if (BiT.Model.Imaging.ImageDecoder.SizeProblem(width, height) is { } problem)
        {
            throw new CorruptImageException(problem);
        }
        var (_, w, h) = TurboJpeg.ShrinkFor(width, height, minWidth, minHeight);
        var channels = gray ? 1 : 3;
        var length = (long)w * h * channels;
        byte[] pixels;
        if (pooled)
        {
            if (_pixelBuffer is null || _pixelBuffer.Length < length)
            {
                _pixelBuffer = new byte[length];
            }
            pixels = _pixelBuffer;
        }
        else
        {
            pixels = new byte[length];
        }
        if (TurboJpeg.Decode(bytes, w, h, gray, pixels) is not null)
        {
            // A colour space TurboJPEG does not convert (CMYK) goes to SkiaSharp, whose verdict on damage stands.
            return DecodeWithSkia(file);
        }
        // A pooled buffer may be longer than the image: consumers index rows by Width and Channels.
        return new RawImage(h, w, channels, pixels);
    }

    private static ReadOnlySpan<byte> ReadFile(string file, bool pooled)
    {
        try
        {
            using var handle = File.OpenHandle(file);
            var length = RandomAccess.GetLength(handle);
            if (length > Array.MaxLength)
            {
                throw new CorruptImageException($"{length} bytes is too large for an image file");
            }
            byte[] buffer;
            if (pooled)
            {
                if (_fileBuffer is null || _fileBuffer.Length < length)
                {
                    _fileBuffer = new byte[Math.Max(length, 64 * 1024)];
                }
                buffer = _fileBuffer;
            }
            else
            {
                buffer = new byte[length];
            }
            var read = 0;
            while (read < length)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(read, (int)length - read), read);
                if (n == 0)
                {
                    break;
                }
                read += n;
            }
            return buffer.AsSpan(0, read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CorruptImageException($"cannot read the file ({e.Message})", e);
        }
    }

    private static RawImage DecodeWithSkia(string file)
    {
        using var codec = SKCodec.Create(file, out var result)
            ?? throw new CorruptImageException($"not a readable image ({result})");
        if (BiT.Model.Imaging.ImageDecoder.SizeProblem(codec.Info.Width, codec.Info.Height) is { } problem)
        {
            throw new CorruptImageException(problem);
        }
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var decoded = codec.GetPixels(info, bitmap.GetPixels());
        if (decoded != SKCodecResult.Success)
        {
            throw new CorruptImageException($"decoding failed ({decoded})");
        }
        var rgba = bitmap.GetPixelSpan();
        var rgb = new byte[info.Width * info.Height * 3];
        for (int p = 0, q = 0; q < rgb.Length; p += 4, q += 3)
        {
            rgb[q] = rgba[p];
            rgb[q + 1] = rgba[p + 1];
            rgb[q + 2] = rgba[p + 2];
        }
        return new RawImage(info.Height, info.Width, 3, rgb);
    }
}
