using BiT.Contracts.Plans;
using BiT.Trainer.Commands;

namespace BiT.Trainer.Tests.Hostile;

public sealed class CleanSymlinkTests
{
    [Fact]
    public async Task Clean_removes_links_as_links_and_never_deletes_outside_the_directory()
    {
        using var root = new TempDir();
        var outside = root.Combine("outside");
        Directory.CreateDirectory(Path.Combine(outside, "deep"));
        File.WriteAllText(Path.Combine(outside, "keep.txt"), "precious");
        File.WriteAllText(Path.Combine(outside, "deep", "keep2.txt"), "precious");
        var dir = root.Combine("checkpoints");
        Directory.CreateDirectory(Path.Combine(dir, "final"));
        File.WriteAllText(Path.Combine(dir, "step-00000001.ckpt"), "x");
        File.WriteAllText(Path.Combine(dir, "final", "model.npz"), "y");
        Directory.CreateSymbolicLink(Path.Combine(dir, "linked-dir"), outside);
        Directory.CreateSymbolicLink(Path.Combine(dir, "final", "nested-link"), outside);
        File.CreateSymbolicLink(Path.Combine(dir, "linked-file"), Path.Combine(outside, "keep.txt"));

        var error = new StringWriter();
        var code = await new CommandRegistry { new CleanCommand() }.RunAsync(["clean", "--dir", dir], new CommandConsole(new StringWriter(), error), CancellationToken.None);

        Assert.Equal(TrainerExitCodes.Success, code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(outside, "keep.txt")));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(outside, "deep", "keep2.txt")));
    }
}
