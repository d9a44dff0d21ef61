using System.Globalization;
using System.Runtime.InteropServices;

namespace BiT.Trainer.Checkpoints;

/// <summary>
/// A directory of <c>step-NNNNNNNN.ckpt</c> files. Writes are atomic (temporary file, fsync, rename, fsync of the
/// directory) so a kill at any moment leaves either the old set or the new file complete; the last
/// <c>keep</c> are kept. Loading takes the newest checkpoint that verifies and belongs to this plan.
/// </summary>
public sealed partial class CheckpointStore(string directory, int keep, Action<string> warn)
{
    private const string Prefix = "step-";
    private const string Extension = ".ckpt";

    public string Directory { get; } = directory;

    public static string FileName(int step) => $"{Prefix}{step.ToString("D8", CultureInfo.InvariantCulture)}{Extension}";

    public string Write(CheckpointState state)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, FileName(state.Step));
        var temp = path + ".tmp";
        try
        {
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                CheckpointFile.Write(file, state);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            // A partial file (disk full, a write error) must not stay behind to fill the disk for the next attempt.
            TryDelete(temp);
            throw;
        }
        SyncDirectory(Directory);
        Prune(state.PlanHash, path);
        return path;
    }

    /// <summary>
    /// Deletes the temporary files an interrupted write left (<c>step-*.ckpt.tmp</c>), before a run starts: they are
    /// never read, and on a nearly full volume they would make the next checkpoint fail at once.
    /// </summary>
    public int RemoveStaleTemporaryFiles()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return 0;
        }
        var removed = 0;
        foreach (var stale in System.IO.Directory.GetFiles(Directory, Prefix + "*" + Extension + ".tmp"))
        {
            if (TryDelete(stale))
            {
                warn($"removed the partial checkpoint {stale} an interrupted write left behind");
                removed++;
            }
        }
        return removed;
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The newest checkpoint that verifies and has this plan hash; corrupt and foreign ones are skipped with a warning.</summary>
    public CheckpointState? LoadLatest(string planHash)
    {
        foreach (var (step, path) in List().OrderByDescending(c => c.Step))
        {
            try
            {
                var (_, hash) = CheckpointFile.ReadSummary(path);
                if (!string.Equals(hash, planHash, StringComparison.Ordinal))
                {
                    warn($"warning: not resuming {path}: it belongs to another plan (planHash {hash}, this plan {planHash})");
                    continue;
                }
                var state = CheckpointFile.Read(path);
                if (state.Step != step)
                {
                    // An authentic file under another step's name (renamed or copied): its step is not this name's.
                    throw new CorruptCheckpointException($"{path}: holds step {state.Step}, not the step its name says");
                }
                return state;
            }
            catch (Exception e) when (e is CorruptCheckpointException or IOException or EndOfStreamException or UnauthorizedAccessException)
            {
                warn($"warning: skipping corrupt checkpoint {path}: {e.Message}");
            }
        }
        return null;
    }

    public IReadOnlyList<(int Step, string Path)> List()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }
        var found = new List<(int, string)>();
        foreach (var path in System.IO.Directory.GetFiles(Directory, Prefix + "*" + Extension))
        {
            var name = Path.GetFileName(path);
            var digits = name[Prefix.Length..^Extension.Length];
            if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var step))
            {
                found.Add((step, path));
            }
        }
        return [.. found.OrderBy(f => f.Item1)];
    }

    /// <summary>
    /// Deletes all but the newest <c>keep</c> checkpoints of this plan. Another plan's files are left alone (resume
    /// skips them), and the file just written always stays, even if an older run left higher step numbers behind.
    /// </summary>
    private void Prune(string planHash, string justWritten)
    {
        var ours = List().Where(c => c.Path == justWritten || BelongsTo(c.Path, planHash)).ToList();
        var excess = ours.Where(c => c.Path != justWritten).Take(Math.Max(0, ours.Count - Math.Max(1, keep)));
        foreach (var (_, path) in excess)
        {
            File.Delete(path);
        }
        foreach (var stale in System.IO.Directory.GetFiles(Directory, Prefix + "*" + Extension + ".tmp"))
        {
            File.Delete(stale);
        }
    }

    private static bool BelongsTo(string path, string planHash)
    {
        try
        {
            return string.Equals(CheckpointFile.ReadSummary(path).PlanHash, planHash, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is CorruptCheckpointException or IOException)
        {
            // A corrupt file of unknown plan is not ours to delete; resume skips it anyway.
            return false;
        }
    }

    private static void SyncDirectory(string path)
    {
        // The rename is durable only once the directory entry is on disk; .NET has no API for that.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var fd = Open(path, 0);
        if (fd >= 0)
        {
            _ = Fsync(fd);
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
