using BiT.Model.Native;

namespace BiT.Model.Tests.Native;

public sealed class KernelProbeCacheTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"bit-probe-cache-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private KernelProbeCache Cache(string cpu = "AMD EPYC\nflags: avx512f") => new(_directory, KernelProbeCache.MakeKey(cpu, "libtorch 2.10.0"));

    [Fact]
    public void A_miss_runs_the_probe_and_keeps_its_verdict_and_a_hit_does_not_run_it()
    {
        var runs = 0;
        Func<KernelProbeResult> probe = () =>
        {
            runs++;
            return new KernelProbeResult(false, "the child was killed by SIGFPE after 3.0 s");
        };
        var first = KernelProbeCache.Through(Cache(), probe)();
        var second = KernelProbeCache.Through(Cache(), probe)();
        Assert.Equal(1, runs);
        Assert.False(first.Passed);
        Assert.False(second.Passed);
        Assert.StartsWith("the child was killed by SIGFPE after 3.0 s; cached in ", second.Detail, StringComparison.Ordinal);
        Assert.True(File.Exists(Cache().FilePath));
    }

    [Fact]
    public void Another_cpu_or_library_or_probe_version_is_another_key()
    {
        Assert.NotEqual(KernelProbeCache.MakeKey("a", "libtorch 2.10.0"), KernelProbeCache.MakeKey("b", "libtorch 2.10.0"));
        Assert.NotEqual(KernelProbeCache.MakeKey("a", "libtorch 2.10.0"), KernelProbeCache.MakeKey("a", "libtorch 2.11.0"));
        Assert.True(Cache("one cpu").TryWrite(new KernelProbeResult(true, "passed")));
        Assert.Null(Cache("another cpu").TryRead());
    }

    [Fact]
    public void A_file_written_for_another_key_under_this_name_is_ignored()
    {
        var cache = Cache();
        Directory.CreateDirectory(_directory);
        File.WriteAllText(cache.FilePath, """{ "Key": "0000", "Passed": true, "Detail": "x", "Written": "2026-12-03T00:00:00Z" }""");
        Assert.Null(cache.TryRead());
    }

    [Theory]
    [InlineData("")]
    [InlineData("{ not json")]
    [InlineData("null")]
    [InlineData("""{ "Passed": true }""")]
    [InlineData("\u0000\u0001\u0002")]
    public void A_corrupt_file_is_a_miss_and_is_replaced(string content)
    {
        var cache = Cache();
        Directory.CreateDirectory(_directory);
        File.WriteAllText(cache.FilePath, content);
        Assert.Null(cache.TryRead());
        var runs = 0;
        var result = KernelProbeCache.Through(cache, () =>
        {
            runs++;
            return new KernelProbeResult(true, "passed in 3.1 s");
        })();
        Assert.Equal(1, runs);
        Assert.True(result.Passed);
        Assert.Equal(new KernelProbeResult(true, "passed in 3.1 s"), cache.TryRead());
    }

    [Fact]
    public void An_inconclusive_verdict_is_not_kept()
    {
        var runs = 0;
        Func<KernelProbeResult> probe = () =>
        {
            runs++;
            return new KernelProbeResult(false, "no answer within 120 s", Conclusive: false);
        };
        KernelProbeCache.Through(Cache(), probe)();
        KernelProbeCache.Through(Cache(), probe)();
        Assert.Equal(2, runs);
        Assert.False(File.Exists(Cache().FilePath));
    }

    [Fact]
    public void A_cache_that_cannot_be_written_still_returns_the_probe_s_verdict()
    {
        Directory.CreateDirectory(_directory);
        var blocked = Path.Combine(_directory, "a-file");
        File.WriteAllText(blocked, "not a directory");
        var cache = new KernelProbeCache(Path.Combine(blocked, "cache"), KernelProbeCache.MakeKey("cpu", "lib"));
        var result = KernelProbeCache.Through(cache, () => new KernelProbeResult(true, "passed"))();
        Assert.True(result.Passed);
        Assert.False(cache.TryWrite(result));
    }

    [Fact]
    public void The_directory_comes_from_the_override_then_xdg_then_home()
    {
        Assert.Equal("/o", KernelProbeCache.DefaultDirectory("/o", "/x", "/h"));
        Assert.Null(KernelProbeCache.DefaultDirectory("", "/x", "/h"));
        Assert.Equal(Path.Combine("/x", "bit-trainer"), KernelProbeCache.DefaultDirectory(null, "/x", "/h"));
        Assert.Equal(Path.Combine("/h", ".cache", "bit-trainer"), KernelProbeCache.DefaultDirectory(null, null, "/h"));
        Assert.Null(KernelProbeCache.DefaultDirectory(null, "", ""));
    }

    [Fact]
    public void This_machine_s_key_names_its_cpu_and_libtorch()
    {
        Assert.Contains("flags", KernelProbeCache.CpuDescription(), StringComparison.Ordinal);
        Assert.Contains("libtorch", KernelProbeCache.LibraryDescription(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_child_killed_by_sigkill_is_inconclusive_and_one_killed_by_sigfpe_is_not()
    {
        var killed = KernelProbe.InChildProcess("/bin/sh", ["-c", "kill -KILL $$"], TimeSpan.FromMinutes(1));
        Assert.False(killed.Passed);
        Assert.False(killed.Conclusive);
        var fpe = KernelProbe.InChildProcess("/bin/sh", ["-c", "kill -FPE $$"], TimeSpan.FromMinutes(1));
        Assert.True(fpe.Conclusive);
    }
}
