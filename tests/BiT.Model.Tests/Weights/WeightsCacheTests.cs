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

    // The test server listens on 127.0.0.1 over plain http: allowed here, as an operator would opt in.
    private static readonly WeightsDownloadPolicy Local = new() { AllowHttp = true, AllowPrivateNetworks = true };

    [Fact]
    public async Task Downloads_verifies_and_then_serves_from_the_cache_without_a_request()
    {
        using var server = new LocalHttpServer(_content);
        string path = await WeightsCache.FetchAsync(server.Url, _sha, Cache, Local, CancellationToken.None);
        Assert.Equal(_content, await File.ReadAllBytesAsync(path));
        Assert.StartsWith(Cache, path, StringComparison.Ordinal);
        Assert.EndsWith("BiT-test.npz", path, StringComparison.Ordinal);

        string again = await WeightsCache.FetchAsync(server.Url, _sha.ToUpperInvariant(), Cache, Local, CancellationToken.None);
        Assert.Equal(path, again);
        Assert.Single(server.Ranges);
        Assert.Empty(Directory.GetFiles(Cache, "*.partial"));
    }

    [Fact]
    public async Task A_dropped_download_resumes_with_a_range_request_and_sends_only_the_rest()
    {
        using var server = new LocalHttpServer(_content) { CutAfterBytes = 1 << 20 };
        var dropped = await Record.ExceptionAsync(() => WeightsCache.FetchAsync(server.Url, _sha, Cache, Local, CancellationToken.None));
        Assert.True(dropped is IOException or HttpRequestException, $"expected an I/O error, got {dropped}");
        string partial = Assert.Single(Directory.GetFiles(Cache, "*.partial"));
        long kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, 1 << 20);

        string path = await WeightsCache.FetchAsync(server.Url, _sha, Cache, Local, CancellationToken.None);
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

        string path = await WeightsCache.FetchAsync(server.Url, _sha, Cache, Local, CancellationToken.None);
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

        string path = await WeightsCache.FetchAsync(server.Url, _sha, Cache, Local, CancellationToken.None);
        Assert.Equal(_content, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task A_checksum_mismatch_names_the_expected_digest_but_not_the_content_s_and_nothing_is_kept()
    {
        using var server = new LocalHttpServer(_content);
        string wrong = new('a', 64);
        var e = await Assert.ThrowsAsync<InvalidDataException>(
            () => WeightsCache.FetchAsync(server.Url, wrong, Cache, Local, CancellationToken.None));
        Assert.DoesNotContain(_sha, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(_sha[..16], e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(wrong, e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Cache));
    }

    [Theory]
    [InlineData(404)]
    [InlineData(403)]
    [InlineData(503)]
    public async Task A_refused_request_is_an_http_error_with_its_status(int status)
    {
        using var server = new LocalHttpServer(_content) { Status = status };
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => WeightsCache.FetchAsync(server.Url, _sha, Cache, Local, CancellationToken.None));
        Assert.Equal(status, (int?)e.StatusCode);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1/w.npz", "plain http")]
    [InlineData("https://127.0.0.1/w.npz", "loopback, link-local or private")]
    [InlineData("https://169.254.169.254/latest/meta-data", "loopback, link-local or private")]
    [InlineData("https://10.0.0.1/w.npz", "loopback, link-local or private")]
    [InlineData("https://[::1]/w.npz", "loopback, link-local or private")]
    [InlineData("https://[::ffff:127.0.0.1]/w.npz", "loopback, link-local or private")]
    [InlineData("https://[fe80::1]/w.npz", "loopback, link-local or private")]
    [InlineData("https://100.64.0.1/w.npz", "loopback, link-local or private")]
    [InlineData("https://user:secret@example.org/w.npz", "credentials")]
    [InlineData("ftp://example.org/w.npz", "https://")]
    [InlineData("file:///etc/passwd", "https://")]
    public async Task The_default_policy_refuses_before_any_request(string url, string mentioned)
    {
        var e = await Assert.ThrowsAsync<WeightsPolicyException>(
            () => WeightsCache.FetchAsync(new Uri(url), _sha, Cache, new WeightsDownloadPolicy(), CancellationToken.None));
        Assert.Contains(mentioned, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_name_that_resolves_to_loopback_is_refused_where_the_connection_is_made()
    {
        using var server = new LocalHttpServer(_content);
        var byName = new UriBuilder(server.Url) { Host = "localhost" }.Uri;
        var e = await Assert.ThrowsAsync<WeightsPolicyException>(
            () => WeightsCache.FetchAsync(byName, _sha, Cache, Local with { AllowPrivateNetworks = false }, CancellationToken.None));
        Assert.Contains("loopback", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.BytesSent);
    }

    [Fact]
    public async Task A_redirect_to_the_metadata_address_is_refused()
    {
        using var server = new LocalHttpServer(_content) { RedirectTo = "http://169.254.169.254/latest/meta-data/iam" };
        var e = await Assert.ThrowsAsync<WeightsPolicyException>(
            () => WeightsCache.FetchAsync(server.Url, _sha, Cache, Local with { AllowPrivateNetworks = false, PrivateHosts = new HashSet<string> { "127.0.0.1" } }, CancellationToken.None));
        Assert.Contains("169.254.169.254", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redirects_are_bounded()
    {
        using var server = new LocalHttpServer(_content);
        server.RedirectTo = server.Url.ToString();
        var e = await Assert.ThrowsAsync<WeightsPolicyException>(
            () => WeightsCache.FetchAsync(server.Url, _sha, Cache, Local with { MaxRedirects = 3 }, CancellationToken.None));
        Assert.Contains("more than 3 redirects", e.Message, StringComparison.Ordinal);
        Assert.Equal(4, server.Ranges.Count);
    }

    [Fact]
    public async Task A_file_over_the_size_cap_is_refused_and_not_kept()
    {
        using var server = new LocalHttpServer(_content);
        var e = await Assert.ThrowsAsync<WeightsPolicyException>(
            () => WeightsCache.FetchAsync(server.Url, _sha, Cache, Local with { MaxBytes = 1 << 20 }, CancellationToken.None));
        Assert.Contains("limit of 1048576", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Cache));
    }

    [Fact]
    public async Task A_server_that_stops_sending_times_out()
    {
        using var server = new LocalHttpServer(_content) { Stall = true };
        var e = await Assert.ThrowsAsync<TimeoutException>(
            () => WeightsCache.FetchAsync(server.Url, _sha, Cache, Local with { IdleTimeout = TimeSpan.FromMilliseconds(500) }, CancellationToken.None));
        Assert.Contains("nothing received", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1/w.npz", "abc", "SHA-256")]
    [InlineData("http://127.0.0.1/w.npz", "zz00000000000000000000000000000000000000000000000000000000000000", "SHA-256")]
    public async Task Bad_arguments_are_refused_before_any_request(string url, string sha, string mentioned)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => WeightsCache.FetchAsync(new Uri(url), sha, Cache, Local, CancellationToken.None));
        Assert.Contains(mentioned, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("BIT_WEIGHTS_ALLOW_HTTP", "yes")]
    [InlineData("BIT_WEIGHTS_MAX_BYTES", "-1")]
    [InlineData("BIT_WEIGHTS_MAX_BYTES", "1GB")]
    public void A_bad_policy_variable_is_an_error_naming_it(string name, string value)
    {
        var e = Assert.Throws<ArgumentException>(() => WeightsDownloadPolicy.FromEnvironment(n => n == name ? value : null));
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_environment_loosens_the_policy()
    {
        var env = new Dictionary<string, string> { ["BIT_WEIGHTS_ALLOW_HTTP"] = "true", ["BIT_WEIGHTS_ALLOW_PRIVATE_NETWORKS"] = "1", ["BIT_WEIGHTS_MAX_BYTES"] = "1000" };
        var policy = WeightsDownloadPolicy.FromEnvironment(n => env.GetValueOrDefault(n));
        Assert.Equal((true, true, 1000L), (policy.AllowHttp, policy.AllowPrivateNetworks, policy.MaxBytes));
        Assert.Equal((false, false), (new WeightsDownloadPolicy().AllowHttp, new WeightsDownloadPolicy().AllowPrivateNetworks));
    }
}
