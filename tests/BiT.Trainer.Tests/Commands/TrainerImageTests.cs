using System.Diagnostics;
using System.Text.RegularExpressions;

namespace BiT.Trainer.Tests.Commands;

/// <summary>No Docker engine runs here, so the image's inputs are checked instead: the Dockerfile and the publish output.</summary>
public sealed partial class TrainerImageTests
{
    private static readonly string DockerfilePath = Path.Combine(TestPaths.RepoRoot, "src", "TrainerImage", "Dockerfile");

    private static List<string> Instructions() => [.. File.ReadAllLines(DockerfilePath)
        .Select(l => l.Trim())
        .Where(l => l.Length > 0 && !l.StartsWith('#'))];

    [Fact]
    public void Dockerfile_is_multi_stage_publishes_the_cuda_build_and_runs_bit_trainer_as_a_non_root_user()
    {
        var lines = Instructions();
        var froms = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.True(froms.Count >= 2, "multi-stage: a build stage and a runtime stage");
        Assert.Contains(" AS build", froms[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("RUN dotnet publish", StringComparison.Ordinal) && l.Contains("-p:BiTTorchBackend=cuda", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("COPY --from=build", StringComparison.Ordinal));

        var runtime = lines.SkipWhile(l => l != froms[^1]).ToList();
        var user = Assert.Single(runtime, l => l.StartsWith("USER ", StringComparison.Ordinal));
        var uid = user["USER ".Length..].Split(':')[0];
        Assert.NotEqual("root", uid);
        Assert.NotEqual("0", uid);
        // The operator's pods run as UID 1000 with runAsNonRoot.
        Assert.Equal("1000", uid);
        Assert.Equal("ENTRYPOINT [\"/app/bit-trainer\"]", runtime.Single(l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal)));
        Assert.True(runtime.IndexOf(user) > runtime.FindIndex(l => l.StartsWith("COPY", StringComparison.Ordinal)), "USER after the files are in place");
    }

    [Fact]
    public void Every_path_the_build_stage_copies_exists_in_the_repository()
    {
        foreach (var line in Instructions().Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal)))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1];
            foreach (var source in parts)
            {
                var path = Path.Combine(TestPaths.RepoRoot, source.TrimEnd('/'));
                Assert.True(File.Exists(path) || Directory.Exists(path), $"{line}: {source} is not in the repository");
            }
        }
        Assert.Contains("BiTTorchBackend", File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "src", "Model", "BiT.Model.csproj")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_output_contains_the_bit_trainer_entry_point_and_its_native_libraries()
    {
        using var dir = new TempDir();
        var configuration = ConfigurationPattern().Match(AppContext.BaseDirectory) is { Success: true } m ? m.Groups[1].Value : "Debug";
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestPaths.RepoRoot };
        foreach (var a in new[] { "publish", Path.Combine("src", "TrainerImage", "BiT.Trainer.csproj"), "--no-build", "-c", configuration, "-o", dir.Path })
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, output + await process.StandardError.ReadToEndAsync());
        Assert.True(File.Exists(Path.Combine(dir.Path, "bit-trainer")), "the apphost the ENTRYPOINT names");
        Assert.True(File.Exists(Path.Combine(dir.Path, "bit-trainer.dll")));
        Assert.True(File.Exists(Path.Combine(dir.Path, "bit-trainer.runtimeconfig.json")));
        var natives = Directory.GetFiles(dir.Path, "*.so", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        Assert.Contains(natives, n => n!.StartsWith("libLibTorchSharp", StringComparison.Ordinal));
        Assert.Contains(natives, n => n!.StartsWith("libSkiaSharp", StringComparison.Ordinal));
        // The Gloo shim the build compiles, next to the assemblies where its P/Invoke finds it.
        Assert.True(File.Exists(Path.Combine(dir.Path, "libbitdist.so")), string.Join(", ", natives));
        // oneMKL's vendor-check shim (Model/Native/MklDispatch.cs), where MklDispatch looks for it.
        Assert.True(File.Exists(Path.Combine(dir.Path, "libbitmkl.so")), string.Join(", ", natives));
        // The native GroupNorm kernels (Model/Native/NativeGroupNorm.cs), where NativeGroupNorm looks for them.
        Assert.True(File.Exists(Path.Combine(dir.Path, "libbitgn.so")), string.Join(", ", natives));
    }

    [GeneratedRegex(@"[/\\]bin[/\\]([^/\\]+)[/\\]net")]
    private static partial Regex ConfigurationPattern();
}
