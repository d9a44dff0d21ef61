using System.Security.Cryptography;
using BiT.Model;
using BiT.Model.Tests.TestSupport;

namespace BiT.Model.Tests.Weights;

public sealed class WeightsCacheTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly byte[] _content;
    private readonly string _sha;

    public WeightsCacheTests()
    {
        _content = new byte[3 << 20];
        new Random(7).NextBytes(_content);
        _sha = Convert.ToHexStringLower(SHA256.HashData(_content));
    }

    public void Dispose() => _dir.Dispose();

    private string Cache => Path.Combine(_dir.Path, "cache");

    [Fact]
    public async Task Downloads_verifies_and_then_serves_from_the_cache_without_a_request()
    {
        using var server = new LocalHttpServer(_content);
        string path = await WeightsCache.FetchAsync(server.Url, _sha, Cache, CancellationToken.None);
        Assert.Equal(_content, await File.ReadAllBytesAsync(path));
        Assert.StartsWith(Cache, path, StringComparison.Ordinal);
        Assert.EndsWith("BiT-test.npz", path, StringComparison.Ordinal);

        string again = await WeightsCache.FetchAsync(server.Url, _sha.ToUpperInvariant(), Cache, CancellationToken.None);
        Assert.Equal(path, again);
        Assert.Single(server.Ranges);
        Assert.Empty(Directory.GetFiles(Cache, "*.partial"));
    }

    [Fact]
    public async Task A_dropped_download_resumes_with_a_range_request_and_sends_only_the_rest()
    {
        using var server = new LocalHttpServer(_content) { CutAfterBytes = 1 << 20 };
        var dropped = await Record.ExceptionAsync(() => WeightsCache.FetchAsync(server.Url, _sha, Cache, CancellationToken.None));
        Assert.True(dropped is IOException or HttpRequestException, $"expected an I/O error, got {dropped}");
        string partial = Assert.Single(Directory.GetFiles(Cache, "*.partial"));
        long kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, 1 << 20);

        string path = await WeightsCache.FetchAsync(server.Url, _sha, Cache, CancellationToken.None);
        Assert.Equal(_content, await File.ReadAllBytesAsync(path));
        Assert.Equal(["", $"bytes={kept}-"], server.Ranges.ToArray());
        Assert.Equal((1 << 20) + _content.Length - kept, server.BytesSent);
    }

    [Fact]
    public async Task A_partial_file_left_from_before_is_resumed()
    {
        Directory.CreateDirectory(Cache);
        using var server = new LocalHttpServer(_content);
        string partial = Path.Combine(Cache, $"{_sha[..16]}-BiT-test.npz.partial");
        await File.WriteAllBytesAsync(partial, _content.AsSpan(0, 1000).ToArray());

        string path = await WeightsCache.FetchAsync(server.Url, _sha, Cache, CancellationToken.None);
        Assert.Equal(_content, await File.ReadAllBytesAsync(path));
        Assert.Equal(["bytes=1000-"], server.Ranges.ToArray());
        Assert.Equal(_content.Length - 1000, server.BytesSent);
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task A_server_that_ignores_ranges_gets_a_fresh_download()
    {
        Directory.CreateDirectory(Cache);
        using var server = new LocalHttpServer(_content) { IgnoreRange = true };
        string partial = Path.Combine(Cache, $"{_sha[..16]}-BiT-test.npz.partial");
        await File.WriteAllBytesAsync(partial, new byte[1000]);

        string path = await WeightsCache.FetchAsync(server.Url, _sha, Cache, CancellationToken.None);
        Assert.Equal(_content, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task A_checksum_mismatch_is_an_error_naming_both_digests_and_nothing_is_kept()
    {
        using var server = new LocalHttpServer(_content);
        string wrong = new('a', 64);
        var e = await Assert.ThrowsAsync<InvalidDataException>(
            () => WeightsCache.FetchAsync(server.Url, wrong, Cache, CancellationToken.None));
        Assert.Contains(_sha, e.Message, StringComparison.Ordinal);
        Assert.Contains(wrong, e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Cache));
    }

    [Fact]
    public async Task A_missing_resource_is_an_http_error()
    {
        using var server = new LocalHttpServer(_content);
        var missing = new Uri(server.Url, "/elsewhere.npz");
        await Assert.ThrowsAsync<HttpRequestException>(() => WeightsCache.FetchAsync(missing, _sha, Cache, CancellationToken.None));
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/w.npz", "0000000000000000000000000000000000000000000000000000000000000000", "http")]
    [InlineData("http://127.0.0.1/w.npz", "abc", "SHA-256")]
    [InlineData("http://127.0.0.1/w.npz", "zz00000000000000000000000000000000000000000000000000000000000000", "SHA-256")]
    public async Task Bad_arguments_are_refused_before_any_request(string url, string sha, string mentioned)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => WeightsCache.FetchAsync(new Uri(url), sha, Cache, CancellationToken.None));
        Assert.Contains(mentioned, e.Message, StringComparison.Ordinal);
    }
}
