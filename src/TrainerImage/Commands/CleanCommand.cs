using System.CommandLine;
using System.Globalization;
using BiT.Contracts.Plans;

namespace BiT.Trainer.Commands;

/// <summary>
/// <c>bit-trainer clean --dir /checkpoints</c>: empties a job's checkpoint directory. The operator runs it in a
/// cleanup pod when a job whose checkpoints live in an existing, shared claim is deleted with
/// <c>checkpoint.volume.onDelete: Delete</c> (docs/operator.md, "Checkpoint retention").
/// </summary>
public sealed class CleanCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "clean";

    /// <inheritdoc/>
    public string Summary => "delete everything in a checkpoint directory (the operator's cleanup pods)";

    /// <inheritdoc/>
    public string Help => """
        usage: bit-trainer clean --dir DIR

        Deletes every file and directory inside DIR (checkpoints, final/, logs), leaving DIR itself, which is a
        volume mount in a pod. A DIR that does not exist has nothing to clean. DIR must be an absolute path
        other than '/'.

        exit codes: 0 cleaned (or nothing to clean), 4 something could not be deleted (the last line says what),
        2 usage error.
        """;

    private readonly Option<string?> _dir = CommandOptions.Text("--dir").Check(dir =>
        !string.IsNullOrWhiteSpace(dir) && (!Path.IsPathFullyQualified(dir) || Path.GetFullPath(dir) == Path.GetPathRoot(Path.GetFullPath(dir)))
            ? $"--dir must be an absolute path other than the root, got '{dir}'"
            : null);

    /// <inheritdoc/>
    public Command Define()
    {
        var command = new Command(Name, Summary) { _dir };
        CommandOptions.Require(command, _dir);
        return command;
    }

    /// <inheritdoc/>
    public async Task<int> RunAsync(ParseResult parsed, CommandConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        ArgumentNullException.ThrowIfNull(console);
        var dir = parsed.GetValue(_dir)!;
        if (!Directory.Exists(dir))
        {
            await console.Out.WriteLineAsync($"{dir} does not exist: nothing to clean").ConfigureAwait(false);
            return TrainerExitCodes.Success;
        }
        long files = 0, bytes = 0;
        try
        {
            (files, bytes) = Empty(new DirectoryInfo(dir), cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await console.Error.WriteLineAsync($"bit-trainer: error: cannot clean {dir}: {e.Message}").ConfigureAwait(false);
            return TrainerExitCodes.PermanentFailure;
        }
        await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"removed {files} files ({bytes / 1048576.0:F1} MiB) from {dir}")).ConfigureAwait(false);
        return TrainerExitCodes.Success;
    }

    /// <summary>
    /// Deletes what is inside <paramref name="directory"/> without ever following a link: a symbolic link (to a file
    /// or a directory, even one outside) is removed as a link, so nothing outside the directory is touched.
    /// </summary>
    private static (long Files, long Bytes) Empty(DirectoryInfo directory, CancellationToken cancellationToken)
    {
        long files = 0, bytes = 0;
        foreach (var entry in directory.EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0 }))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.LinkTarget is not null || (entry.Attributes & FileAttributes.ReparsePoint) != 0)
            {
                // unlink(2) removes the link itself, whatever it points to.
                File.Delete(entry.FullName);
                files++;
            }
            else if (entry is DirectoryInfo sub)
            {
                var (f, b) = Empty(sub, cancellationToken);
                files += f;
                bytes += b;
                sub.Delete(recursive: false);
            }
            else
            {
                bytes += ((FileInfo)entry).Length;
                entry.Delete();
                files++;
            }
        }
        return (files, bytes);
    }
}
