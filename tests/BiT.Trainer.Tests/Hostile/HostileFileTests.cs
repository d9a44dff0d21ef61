using System.Text.Json.Nodes;
using BiT.Model;
using BiT.Model.Imaging;
using BiT.Trainer.Checkpoints;
using BiT.Trainer.Data;
using static BiT.Trainer.Tests.Hostile.HostileInputs;

namespace BiT.Trainer.Tests.Hostile;

/// <summary>
/// The standing hostile-input suite for the trainer's file readers: each case is a crafted file and the answer it
/// must get. Checkpoints: every defect makes resume fall back to the previous checkpoint with a warning. The other
/// readers: the documented exception with a message naming the defect, never an allocation sized from a header alone.
/// </summary>
public sealed class HostileFileTests
{
    private static readonly Dictionary<string, Func<byte[]>> Checkpoints = new()
    {
        ["step edited 2 -> 99, digest kept"] = () => EditHeader(Checkpoint(2), h => h["step"] = 99, rehash: false),
        ["step edited 2 -> 1, digest kept"] = () => EditHeader(Checkpoint(2), h => h["step"] = 1, rehash: false),
        ["plan hash edited, digest kept"] = () => EditHeader(Checkpoint(2), h => h["planHash"] = "plan-a ", rehash: false),
        ["seed edited, digest kept"] = () => EditHeader(Checkpoint(2), h => h["seed"] = 8, rehash: false),
        ["tensor renamed, digest kept"] = () => EditHeader(Checkpoint(2), h => h["tensors"]![0]!["name"] = "model/x", rehash: false),
        ["step under another file name"] = () => Checkpoint(5),
        ["negative step"] = () => EditHeader(Checkpoint(2), h => h["step"] = -1, rehash: true),
        ["format 1"] = () => EditHeader(Checkpoint(2), h => h["format"] = 1, rehash: true),
        ["null tensor table"] = () => EditHeader(Checkpoint(2), h => h["tensors"] = null, rehash: true),
        ["a null tensor"] = () => EditHeader(Checkpoint(2), h => h["tensors"]![0] = null, rehash: true),
        ["tensor without a name"] = () => EditHeader(Checkpoint(2), h => h["tensors"]![0]!.AsObject().Remove("name"), rehash: true),
        ["tensor with a null shape"] = () => EditHeader(Checkpoint(2), h => h["tensors"]![0]!["shape"] = null, rehash: true),
        ["unknown dtype"] = () => EditHeader(Checkpoint(2), h => h["tensors"]![0]!["dType"] = "Complex128", rehash: true),
        ["negative tensor length"] = () => EditHeader(Checkpoint(2), h => h["tensors"]![0]!["length"] = -16, rehash: true),
        ["huge tensor length"] = () => EditHeader(Checkpoint(2), h => h["tensors"]![0]!["length"] = long.MaxValue, rehash: true),
        ["negative dimension"] = () => EditHeader(Checkpoint(2), h => h["tensors"]![0]!["shape"] = new JsonArray(-2, -2), rehash: true),
        ["overflowing shape"] = () => EditHeader(Checkpoint(2), h => h["tensors"]![0]!["shape"] = new JsonArray(long.MaxValue, 4), rehash: true),
        ["shape disagrees with length"] = () => EditHeader(Checkpoint(2), h => h["tensors"]![0]!["shape"] = new JsonArray(2, 3), rehash: true),
        ["wrong offset"] = () => EditHeader(Checkpoint(2), h => h["tensors"]![1]!["offset"] = 3, rehash: true),
        ["payload length disagrees"] = () => EditHeader(Checkpoint(2), h => h["payloadLength"] = 19, rehash: true),
        ["null plan hash"] = () => EditHeader(Checkpoint(2), h => h["planHash"] = null, rehash: true),
        ["header is not JSON"] = () => ReplaceHeader(Checkpoint(2), "{\"step\": 2, oops", rehash: true),
        ["header is JSON null"] = () => ReplaceHeader(Checkpoint(2), "null", rehash: true),
        ["header nested 10,000 deep"] = () => ReplaceHeader(Checkpoint(2), new string('[', 10_000), rehash: true),
        ["header length zero"] = () => { var f = Checkpoint(2); BitConverter.GetBytes(0).CopyTo(f, 8); return f; },
        ["header length negative"] = () => { var f = Checkpoint(2); BitConverter.GetBytes(-5).CopyTo(f, 8); return f; },
        ["header length past the end"] = () => { var f = Checkpoint(2); BitConverter.GetBytes(int.MaxValue).CopyTo(f, 8); return f; },
        ["bad magic"] = () => { var f = Checkpoint(2); f[0] = (byte)'X'; return f; },
        ["format-1 magic"] = () => { var f = Checkpoint(2); f[7] = (byte)'1'; return f; },
        ["empty file"] = () => [],
        ["ten bytes"] = () => Checkpoint(2)[..10],
        ["truncated payload"] = () => Checkpoint(2)[..^40],
        ["digest missing"] = () => Checkpoint(2)[..^32],
        ["digest flipped"] = () => { var f = Checkpoint(2); f[^1] ^= 1; return f; },
        ["payload bit flipped"] = () => { var f = Checkpoint(2); f[^40] ^= 0x10; return f; },
        ["trailing garbage"] = () => [.. Checkpoint(2), 1, 2, 3],
    };

    public static TheoryData<string> CheckpointCases() => [.. Checkpoints.Keys];

    [Theory]
    [MemberData(nameof(CheckpointCases))]
    public void A_defective_checkpoint_falls_back_to_the_previous_one(string name)
    {
        using var dir = new TempDir();
        var warnings = new List<string>();
        var store = new CheckpointStore(dir.Path, 5, warnings.Add);
        store.Write(State(1));
        File.WriteAllBytes(dir.Combine(CheckpointStore.FileName(2)), Checkpoints[name]());

        var loaded = store.LoadLatest("plan-a");

        Assert.NotNull(loaded);
        Assert.Equal(1, loaded.Step);
        var warning = Assert.Single(warnings);
        Assert.Contains(CheckpointStore.FileName(2), warning, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', warning);
    }

    [Fact]
    public void A_stale_temporary_checkpoint_is_removed_before_a_run()
    {
        using var dir = new TempDir();
        var warnings = new List<string>();
        var store = new CheckpointStore(dir.Path, 5, warnings.Add);
        store.Write(State(1));
        File.WriteAllBytes(dir.Combine(CheckpointStore.FileName(2) + ".tmp"), new byte[4096]);
        Assert.Equal(1, store.RemoveStaleTemporaryFiles());
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
        Assert.Equal(1, store.LoadLatest("plan-a")!.Step);
    }

    [Fact]
    public void A_failed_checkpoint_write_leaves_no_partial_file()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(dir.Path, 5, _ => { });
        // A tensor table whose bytes cannot be written: the write throws part-way.
        var bad = new CheckpointState(3, "plan-a", 1, 0, [new TensorData("w", "Float32", [1], null!)], DateTimeOffset.UnixEpoch);
        Assert.ThrowsAny<Exception>(() => store.Write(bad));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    private static readonly Dictionary<string, (Func<byte[]> File, string Message)> NpyFiles = new()
    {
        ["shape claims 2^40 floats"] = (() => Npy("<f4", "(1099511627776,)", 16), "too large for one array"),
        ["shape claims 2^30 floats"] = (() => Npy("<f4", "(1073741824,)", 16), "needs 4294967296 bytes of data, the file holds 16"),
        ["shape claims 100k x 100k, file holds 64 bytes"] = (() => Npy("<f4", "(100000, 100000)", 64), "the file holds 64"),
        ["shape overflows a long"] = (() => Npy("<f4", "(9223372036854775807, 9223372036854775807)", 0), "too large for one array"),
        ["negative dimension"] = (() => Npy("<f4", "(-1,)", 0), "is not a tuple of sizes"),
        ["shape is not numbers"] = (() => Npy("<f4", "('a', 'b')", 0), "is not a tuple of sizes"),
        ["payload one byte short"] = (() => Npy("<f4", "(4,)", 15), "the file holds 15"),
        ["float64"] = (() => Npy("<f8", "(2,)", 16), "dtype '<f8' is not supported"),
        ["big-endian"] = (() => Npy(">f4", "(2,)", 8), "dtype '>f4' is not supported"),
        ["object array"] = (() => Npy("|O", "(2,)", 8), "dtype '|O' is not supported"),
        ["fortran order"] = (() => Npy("<f4", "(2, 2)", 16, dict: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"), "Fortran-order"),
        ["header without shape"] = (() => Npy("<f4", "", 0, dict: "{'descr': '<f4', 'fortran_order': False, }"), "not a numpy array description"),
        ["version 9"] = (() => Npy("<f4", "(1,)", 4, version: 9), "unsupported .npy format version 9"),
        ["bad magic"] = (() => [.. "NOTNUMPY"u8, .. new byte[64]], "not a .npy array"),
        ["empty file"] = (() => [], "ends inside the .npy magic"),
        ["v2 header length 4 GiB"] = (() => { var f = Npy("<f4", "(1,)", 4, version: 2); BitConverter.GetBytes(uint.MaxValue).CopyTo(f, 8); return f; }, "implausibly large"),
        ["header longer than the file"] = (() => { var f = Npy("<f4", "(1,)", 4); BitConverter.GetBytes((ushort)60000).CopyTo(f, 8); return f; }, "ends inside the header"),
    };

    public static TheoryData<string> NpyCases() => [.. NpyFiles.Keys];

    [Theory]
    [MemberData(nameof(NpyCases))]
    public void A_hostile_npy_is_refused_with_its_defect_named(string name)
    {
        using var dir = new TempDir();
        var path = dir.Combine("input.npy");
        File.WriteAllBytes(path, NpyFiles[name].File());
        var e = Assert.Throws<InvalidDataException>(() => BiT.Model.Npy.Read(path).Dispose());
        Assert.Contains(NpyFiles[name].Message, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }

    private static readonly Dictionary<string, (Func<byte[]> File, string Message)> IdxFiles = new()
    {
        ["gzip bomb: 64 MiB of zeros behind a 10-byte declaration"] = (() => GzipBomb(10, 64L << 20), "need 10 bytes, the file holds 11"),
        ["gzip: declared 2 GiB, holds 1 MiB"] = (() => GzipBomb(int.MaxValue, 1 << 20), "need 2147483647 bytes, the file holds 1048576"),
        ["raw: declared 2^31 x 2^31, holds 8 bytes"] = (() => Idx([int.MaxValue, int.MaxValue], 8), "the file holds 8"),
        ["bad magic"] = (() => [1, 2, 3, 4, 5, 6, 7, 8], "bad IDX magic number"),
        ["float element type"] = (() => Idx([2], 8, type: 0x0D), "element type 0x0d is not supported"),
        ["rank 0"] = (() => Idx([], 0), "rank 0 is not supported"),
        ["rank 9"] = (() => { var f = Idx([1], 1); f[3] = 9; return f; }, "rank 9 is not supported"),
        ["dimension 0"] = (() => Idx([0, 28, 28], 0), "dimension 0 is 0"),
        ["dimension above int.MaxValue"] = (() => Idx([uint.MaxValue], 0), "dimension 0 is 4294967295"),
        ["truncated header"] = (() => Idx([3, 28, 28], 0)[..9], "header is truncated"),
        ["payload short"] = (() => Idx([3, 2, 2], 11), "need 12 bytes, the file holds 11"),
        ["payload long"] = (() => Idx([3, 2, 2], 13), "need 12 bytes, the file holds 13"),
        ["gzip header then garbage"] = (() => [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "not a valid gzip stream"),
        ["gzip cut in half"] = (() => { var g = Gzip(Idx([100], 100)); return g[..(g.Length / 2)]; }, "IDX"),
        ["empty file"] = (() => [], "bad IDX magic number"),
    };

    public static TheoryData<string> IdxCases() => [.. IdxFiles.Keys];

    [Theory]
    [MemberData(nameof(IdxCases))]
    public void A_hostile_idx_file_is_refused_with_its_defect_named(string name)
    {
        using var dir = new TempDir();
        var path = dir.Combine("train-images-idx3-ubyte.gz");
        File.WriteAllBytes(path, IdxFiles[name].File());
        var e = Assert.Throws<DataException>(() => IdxFile.Read(path));
        Assert.Contains(IdxFiles[name].Message, e.Message, StringComparison.Ordinal);
    }

    private static readonly Dictionary<string, (Func<byte[]> File, string Message)> Images = new()
    {
        ["PNG declaring 30000 x 30000"] = (() => PngDeclaring(30000, 30000), "declares 30000x30000 pixels"),
        ["PNG declaring 100000 x 1"] = (() => PngDeclaring(100000, 1000), "declares 100000x1000 pixels"),
        ["PNG declaring 2^31-1 square"] = (() => PngDeclaring(int.MaxValue, int.MaxValue), ""),
        ["PNG truncated after the header"] = (() => Png()[..40], ""),
        ["JPEG truncated in half"] = (() => { var j = Jpeg(); return j[..(j.Length / 2)]; }, ""),
        ["garbage"] = (() => [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 7))], "not a readable image"),
        ["empty file"] = (() => [], "not a readable image"),
    };

    public static TheoryData<string> ImageCases() => [.. Images.Keys];

    [Theory]
    [MemberData(nameof(ImageCases))]
    public void A_hostile_image_is_a_corrupt_example_for_training_and_an_error_for_predict(string name)
    {
        using var dir = new TempDir();
        var path = dir.Combine("x.png");
        File.WriteAllBytes(path, Images[name].File());
        var training = Assert.Throws<CorruptImageException>(() => ImageFolderDataset.Decode(path));
        Assert.Contains(Images[name].Message, training.Message, StringComparison.Ordinal);
        if (!name.StartsWith("JPEG truncated", StringComparison.Ordinal))
        {
            // predict accepts a truncated JPEG's decoded rows (documented); everything else is refused.
            var predict = Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(path));
            Assert.Contains(Images[name].Message, predict.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_huge_image_in_a_class_folder_is_skipped_when_the_split_opens()
    {
        using var dir = new TempDir();
        foreach (var split in new[] { "train", "test" })
        {
            for (var i = 0; i < 3; i++)
            {
                Directory.CreateDirectory(dir.Combine(split, "a"));
                File.WriteAllBytes(dir.Combine(split, "a", $"{i}.png"), Png());
            }
        }
        File.WriteAllBytes(dir.Combine("train", "a", "huge.png"), PngDeclaring(30000, 30000));
        var warnings = new List<string>();
        var tracker = new CorruptImageTracker(1000, 1.0, warnings.Add);
        var train = DatasetLoader.Open(BiT.Contracts.Api.DatasetFormat.ImageFolder, dir.Path, DataSplit.Train, 1, tracker);
        Assert.Equal(3, train.Count);
        Assert.Contains(warnings, w => w.Contains("30000x30000", StringComparison.Ordinal));
    }
}
