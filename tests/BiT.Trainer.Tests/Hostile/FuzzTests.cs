using System.Diagnostics;
using System.Globalization;
using System.Text;
using BiT.Contracts.Api;
using BiT.Model;
using BiT.Model.Imaging;
using BiT.Trainer.Checkpoints;
using BiT.Trainer.Data;
using Xunit.Abstractions;
using static BiT.Trainer.Tests.Hostile.HostileInputs;

namespace BiT.Trainer.Tests.Hostile;

/// <summary>
/// A seeded, time-bounded mutation fuzzer over the readers of untrusted bytes: each iteration mutates a valid input
/// (bit flips, interesting bytes, truncation, insertion, duplication) and the reader must answer with its documented
/// exception or a value, never anything else (no overflow, no allocation failure, no crash). Each target runs
/// BIT_FUZZ_SECONDS seconds (default 16: nine targets, about 2.4 minutes of CI in all; set it higher on demand)
/// from seed BIT_FUZZ_SEED (default 12); a failure prints the seed and iteration that reproduce it. The .npz target
/// (a full weights load into a model) is <see cref="WeightsFuzzTests"/>, in the torch collection.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    internal static readonly double Seconds = double.TryParse(Environment.GetEnvironmentVariable("BIT_FUZZ_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : 16;
    internal static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("BIT_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 12;

    public static TheoryData<string> Targets() => ["checkpoint", "npy", "idx", "idx-gzip", "png", "jpeg", "jpeg-shrink", "manifest"];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Mutated_inputs_get_a_documented_answer(string target)
    {
        using var dir = new TempDir();
        var (valid, run) = Target(target, dir);
        Fuzz(target, valid, run, e => IsDocumented(target, e), output);
    }

    /// <summary>Runs one target for <see cref="Seconds"/>: every mutated input must be read or refused as documented.</summary>
    internal static void Fuzz(string target, byte[] valid, Action<byte[]> run, Func<Exception, bool> isDocumented, ITestOutputHelper output, Func<byte[], Random, byte[]>? mutate = null)
    {
        var random = new Random(Seed ^ target.GetHashCode(StringComparison.Ordinal));
        var clock = Stopwatch.StartNew();
        int iterations = 0, refused = 0;
        while (clock.Elapsed.TotalSeconds < Seconds)
        {
            var input = (mutate ?? Mutate)(valid, random);
            try
            {
                run(input);
            }
            catch (Exception e) when (isDocumented(e))
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"{target}, seed {Seed}, iteration {iterations}: {e.GetType().Name}: {e.Message}\n{e}");
            }
            iterations++;
        }
        output.WriteLine($"{target}: {iterations} inputs in {clock.Elapsed.TotalSeconds:F1} s, {refused} refused with the documented exception");
        Assert.True(iterations > 10, $"only {iterations} iterations ran");
        Assert.True(refused > 0, "no mutation was refused: the fuzzer is not reaching the reader's checks");
    }

    private static bool IsDocumented(string target, Exception e) => target switch
    {
        "checkpoint" => e is CorruptCheckpointException,
        "npy" => e is InvalidDataException,
        "idx" or "idx-gzip" => e is DataException,
        "png" or "jpeg" or "jpeg-shrink" => e is CorruptImageException or InvalidDataException,
        "manifest" => e is ManifestException,
        _ => false,
    };

    private static (byte[] Valid, Action<byte[]> Run) Target(string target, TempDir dir)
    {
        var path = dir.Combine("input");
        switch (target)
        {
            case "checkpoint":
                return (Checkpoint(3), bytes =>
                {
                    File.WriteAllBytes(path, bytes);
                    _ = CheckpointFile.Read(path);
                });
            case "npy":
                return (Npy("<f4", "(2, 3)", 24), bytes =>
                {
                    using var stream = new MemoryStream(bytes);
                    BiT.Model.Npy.Read(stream, "input").Dispose();
                });
            case "idx":
                return (Idx([3, 2, 2], 12), bytes =>
                {
                    File.WriteAllBytes(path, bytes);
                    _ = IdxFile.Read(path);
                });
            case "idx-gzip":
                return (Gzip(Idx([3, 2, 2], 12)), bytes =>
                {
                    File.WriteAllBytes(path, bytes);
                    _ = IdxFile.Read(path);
                });
            case "png" or "jpeg":
                return (target == "png" ? Png() : Jpeg(), bytes =>
                {
                    File.WriteAllBytes(path, bytes);
                    _ = ImageFolderDataset.Decode(path);
                    using var stream = new MemoryStream(bytes);
                    _ = ImageDecoder.Decode(stream, "input");
                });
            case "jpeg-shrink":
            {
                // The training path's shrink-on-load: libjpeg-turbo decodes at 1/2, 1/4 or 1/8 scale into this thread's
                // pooled buffers, as large as the transform needs (random here, so every scale is taken).
                Assert.True(TurboJpeg.IsAvailable, "libturbojpeg.so.0 is not installed: scripts/install-test-deps.sh installs it");
                Directory.CreateDirectory(dir.Combine("train", "a"));
                var file = dir.Combine("train", "a", "0.jpg");
                File.WriteAllBytes(file, NoiseJpeg(96, 64));
                var dataset = ImageFolderDataset.Open(dir.Path, DataSplit.Train, 1, tracker: null);
                var sides = new Random(Seed);
                return (File.ReadAllBytes(file), bytes =>
                {
                    File.WriteAllBytes(file, bytes);
                    var side = sides.Next(1, 100);
                    var image = dataset.LoadForTransform(0, side, side);
                    if (image.Width <= 0 || image.Height <= 0)
                    {
                        throw new InvalidOperationException($"decoded to {image.Width}x{image.Height}");
                    }
                });
            }
            case "manifest":
                return (Encoding.UTF8.GetBytes(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "examples", "finetune-fashion-mnist.yaml"))), bytes =>
                    _ = ManifestParser.Parse(Encoding.UTF8.GetString(bytes)));
            default:
                throw new ArgumentOutOfRangeException(nameof(target));
        }
    }

    /// <summary>A JPEG of noise (so its entropy-coded data is not trivially short), width x height.</summary>
    internal static byte[] NoiseJpeg(int width, int height)
    {
        using var bitmap = new SkiaSharp.SKBitmap(width, height);
        var random = new Random(7);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SkiaSharp.SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
            }
        }

        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'-', (byte)'9', (byte)'[', (byte)'{', (byte)':', (byte)'\n'];

    internal static byte[] Mutate(byte[] valid, Random random)
    {
        var bytes = new List<byte>(valid);
        for (int m = 0, count = 1 + random.Next(4); m < count && bytes.Count > 0; m++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes[at] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 2:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 3:
                    bytes.InsertRange(at, Enumerable.Range(0, 1 + random.Next(8)).Select(_ => (byte)random.Next(256)));
                    break;
                case 4:
                    int length = Math.Min(bytes.Count - at, 1 + random.Next(16));
                    bytes.InsertRange(random.Next(bytes.Count), bytes.GetRange(at, length));
                    break;
                default:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(8)));
                    break;
            }
        }
        return [.. bytes];
    }
}
