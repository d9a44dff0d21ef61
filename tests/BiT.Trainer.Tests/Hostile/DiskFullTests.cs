using System.Diagnostics;
using BiT.Contracts.Plans;

namespace BiT.Trainer.Tests.Hostile;

/// <summary>
/// The disk really filling up under a checkpoint write: the trainer process runs with its work directory on a
/// 256 KiB tmpfs (the checkpoint of the tiny model is about 16 MB). The tmpfs is mounted in a mount namespace of its
/// own (<c>unshare --mount</c>, util-linux, in every Debian install), so nothing outside the test sees it and it goes
/// away with the process; as root that is all it needs, otherwise <c>--map-root-user</c> (unprivileged user
/// namespaces). No mount means a failed test naming why, never a skip.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class DiskFullTests
{
    private const int MountFailed = 97;

    [Fact]
    public async Task A_checkpoint_write_on_a_full_disk_exits_5_saying_so_and_leaves_no_partial_file_and_the_next_attempt_succeeds()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("job.yaml"), $$"""
            apiVersion: bit.training/v1alpha1
            kind: BiTFineTuneJob
            metadata: {name: full}
            spec:
              model: {architecture: Custom, blocks: [1, 1, 1, 1], widthFactor: 0.5}
              dataset: {format: Idx, path: {{TestPaths.FashionSubset}}, numClasses: 10}
              hyperparameters: {batchSize: 8, totalSteps: 100, precropSize: 36, cropSize: 32}
              checkpoint: {everySteps: 1000, keep: 2}
            """);
        var mount = Directory.CreateDirectory(dir.Combine("volume")).FullName;
        var trainer = Path.Combine(AppContext.BaseDirectory, "bit-trainer.dll");

        // One shell in the namespace: mount, fill, list what is left, grow the volume, run again, list again.
        var script = $$"""
            set -u
            mount -t tmpfs -o size=256k,mode=0777 bit-disk-full "$1" || exit {{MountFailed}}
            run() { dotnet "$2" run "$3" --workdir "$1/work" --data-threads 1 --eval-every 0 --max-steps 2; }
            run "$1" "$2" "$3" 2>"$4/full.err"; echo "full-exit=$?"
            find "$1" -type f | sed 's/^/full-left: /'
            mount -o remount,size=64m "$1" || exit {{MountFailed}}
            run "$1" "$2" "$3" 2>"$4/grown.err"; echo "grown-exit=$?"
            find "$1" -type f | sed 's/^/grown-left: /'
            """;
        var root = Environment.UserName == "root";
        var start = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[.. root ? ["--mount"] : (string[])["--mount", "--map-root-user"], "sh", "-c", script, "sh", mount, trainer, dir.Combine("job.yaml"), dir.Path])
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["BIT_ONEDNN"] = "off";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        Assert.True(process.ExitCode != MountFailed,
            $"could not mount a tmpfs in a mount namespace (as {(root ? "root" : "a user; needs unprivileged user namespaces")}): {await stderr}");
        Assert.True(process.ExitCode == 0, $"the namespace shell exited {process.ExitCode}: {await stderr}\n{output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        var fullError = File.ReadAllText(dir.Combine("full.err")).TrimEnd();
        Assert.Contains($"full-exit={TrainerExitCodes.TransientFailure}", lines);
        var last = fullError.Split('\n')[^1];
        Assert.StartsWith("bit-trainer: error: No space left on device", last, StringComparison.Ordinal);
        Assert.Contains("step-00000002.ckpt.tmp", last, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", fullError, StringComparison.Ordinal);
        var leftWhenFull = lines.Where(l => l.StartsWith("full-left: ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(leftWhenFull);
        Assert.DoesNotContain(leftWhenFull, l => l.Contains(".ckpt", StringComparison.Ordinal));

        // Room again (the operator's retry after exit 5): nothing left behind stands in the way.
        Assert.True(lines.Contains($"grown-exit={TrainerExitCodes.CheckpointedStop}"), $"second attempt: {File.ReadAllText(dir.Combine("grown.err"))}\n{output}");
        var leftAfter = lines.Where(l => l.StartsWith("grown-left: ", StringComparison.Ordinal)).ToList();
        Assert.Contains(leftAfter, l => l.EndsWith("/work/checkpoints/step-00000002.ckpt", StringComparison.Ordinal));
        Assert.DoesNotContain(leftAfter, l => l.EndsWith(".tmp", StringComparison.Ordinal));
    }
}
