using BiT.Build.NativeFix;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace BiT.Model.Tests.NativeFix;

public sealed class ElfVersionNeedsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bit-nativefix-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string PackageGlue()
    {
        // The pristine copy in the NuGet cache: the build never modifies it.
        string home = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string path = Path.Combine(home, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"TorchSharp's native glue not found at {path}");
        return path;
    }

    [Fact]
    public void Published_glue_needs_glibcxx_3_4_32_from_libstdcxx_and_it_is_not_weak()
    {
        var needs = ElfVersionNeeds.ReadNeeds(File.ReadAllBytes(PackageGlue()));
        var need = Assert.Single(needs, n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", need.File);
        Assert.False(need.Weak);
        Assert.Contains(needs, n => n.Version == "GLIBC_2.2.5" && n.File == "libc.so.6");
    }

    [Fact]
    public void System_libstdcxx_definitions_are_read_from_version_d()
    {
        string? system = ElfVersionNeeds.FindSystemLibrary("libstdc++.so.6");
        Assert.NotNull(system);
        var defined = ElfVersionNeeds.ReadDefinitions(File.ReadAllBytes(system));
        Assert.Contains("GLIBCXX_3.4", defined);
        Assert.Contains("CXXABI_1.3", defined);
    }

    [Fact]
    public void Weakens_only_the_listed_versions_the_system_lacks_and_is_idempotent()
    {
        byte[] elf = File.ReadAllBytes(PackageGlue());
        var available = new HashSet<string>(StringComparer.Ordinal) { "GLIBCXX_3.4.30" };
        var changed = ElfVersionNeeds.WeakenMissing(elf, ["GLIBCXX_3.4.32", "GLIBCXX_3.4.30"], available);
        Assert.Equal(["GLIBCXX_3.4.32"], changed);

        var after = ElfVersionNeeds.ReadNeeds(elf);
        Assert.True(after.Single(n => n.Version == "GLIBCXX_3.4.32").Weak);
        Assert.False(after.Single(n => n.Version == "GLIBCXX_3.4.30").Weak);
        Assert.Equal(1, after.Count(n => n.Weak));

        Assert.Empty(ElfVersionNeeds.WeakenMissing(elf, ["GLIBCXX_3.4.32"], available));
    }

    [Fact]
    public void Leaves_the_library_alone_where_the_system_has_the_version()
    {
        byte[] elf = File.ReadAllBytes(PackageGlue());
        byte[] before = (byte[])elf.Clone();
        var available = new HashSet<string>(StringComparer.Ordinal) { "GLIBCXX_3.4.32" };
        Assert.Empty(ElfVersionNeeds.WeakenMissing(elf, ["GLIBCXX_3.4.32"], available));
        Assert.Equal(before, elf);
    }

    [Fact]
    public void Changes_exactly_two_bytes_of_the_file()
    {
        byte[] original = File.ReadAllBytes(PackageGlue());
        byte[] elf = (byte[])original.Clone();
        ElfVersionNeeds.WeakenMissing(elf, ["GLIBCXX_3.4.32"], new HashSet<string>());
        int diffs = original.Zip(elf).Count(p => p.First != p.Second);
        Assert.InRange(diffs, 1, 2);
        Assert.Equal(original.Length, elf.Length);
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 3 })]
    [InlineData(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 1, 1, 0, 0 })]
    public void Rejects_files_that_are_not_elf64(byte[] bytes)
    {
        var padded = bytes.Concat(new byte[80]).ToArray();
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.ReadNeeds(padded));
    }

    [Fact]
    public void Rejects_a_truncated_library_with_a_clear_error()
    {
        byte[] elf = File.ReadAllBytes(PackageGlue())[..4096];
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.ReadNeeds(elf));
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_msbuild_task_patches_a_copy_against_a_given_system_library()
    {
        string lib = Path.Combine(_dir, "libLibTorchSharp.so");
        File.Copy(PackageGlue(), lib);
        var engine = new RecordingBuildEngine();
        var task = new WeakenMissingVersionNeeds
        {
            BuildEngine = engine,
            Libraries = [new TaskItem(lib), new TaskItem(Path.Combine(_dir, "absent.so"))],
            Versions = "GLIBCXX_3.4.32",
            SystemLibraryPath = ElfVersionNeeds.FindSystemLibrary("libstdc++.so.6")!,
        };

        Assert.True(task.Execute());
        bool systemHasIt = ElfVersionNeeds.ReadDefinitions(File.ReadAllBytes(task.SystemLibraryPath)).Contains("GLIBCXX_3.4.32");
        bool weak = ElfVersionNeeds.ReadNeeds(File.ReadAllBytes(lib)).Single(n => n.Version == "GLIBCXX_3.4.32").Weak;
        Assert.Equal(!systemHasIt, weak);
        Assert.Equal(!systemHasIt, engine.Messages.Any(m => m.Contains("marked weak", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_build_output_copy_is_patched_here_so_torchsharp_loads()
    {
        // This test process itself runs TorchSharp from its output directory: the build's copy must be weak
        // wherever the system libstdc++ lacks GLIBCXX_3.4.32 (Debian 12), and TorchSharp must then work.
        string output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        bool systemHasIt = ElfVersionNeeds.ReadDefinitions(File.ReadAllBytes(ElfVersionNeeds.FindSystemLibrary("libstdc++.so.6")!)).Contains("GLIBCXX_3.4.32");
        bool weak = ElfVersionNeeds.ReadNeeds(File.ReadAllBytes(output)).Single(n => n.Version == "GLIBCXX_3.4.32").Weak;
        Assert.Equal(!systemHasIt, weak);
        using var t = TorchSharp.torch.ones(2, 3);
        Assert.Equal(6f, t.sum().item<float>());
    }

    private sealed class RecordingBuildEngine : IBuildEngine
    {
        public List<string> Messages { get; } = [];

        public bool ContinueOnError => false;

        public int LineNumberOfTaskNode => 0;

        public int ColumnNumberOfTaskNode => 0;

        public string ProjectFileOfTaskNode => "test.proj";

        public bool BuildProjectFile(string projectFileName, string[] targetNames, System.Collections.IDictionary globalProperties, System.Collections.IDictionary targetOutputs) => true;

        public void LogCustomEvent(CustomBuildEventArgs e) => Messages.Add(e.Message ?? string.Empty);

        public void LogErrorEvent(BuildErrorEventArgs e) => Messages.Add("error: " + e.Message);

        public void LogMessageEvent(BuildMessageEventArgs e) => Messages.Add(e.Message ?? string.Empty);

        public void LogWarningEvent(BuildWarningEventArgs e) => Messages.Add("warning: " + e.Message);
    }
}
