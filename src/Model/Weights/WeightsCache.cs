using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace BiT.Model;

/// <summary>
/// Downloads weights given by http(s) URL into a cache directory, resuming a partial download with an HTTP Range
/// request and verifying the SHA-256 before the file is used. A verified file is reused without any request.
/// </summary>
public static class WeightsCache
{
    private static readonly HttpClient SharedClient = new() { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>Fetches <paramref name="url"/> into <paramref name="cacheDir"/> and returns the local path.</summary>
    /// <param name="url">An http or https URL.</param>
    /// <param name="sha256">The expected SHA-256 of the file, 64 hexadecimal digits.</param>
    /// <param name="cacheDir">Where verified files and partial downloads live.</param>
    /// <param name="cancellationToken">Stops the download; the partial file stays for a later resume.</param>
    /// <exception cref="ArgumentException">Not an http(s) URL, or not a SHA-256 in hex.</exception>
    /// <exception cref="HttpRequestException">The server refused the request.</exception>
    /// <exception cref="InvalidDataException">The downloaded file's SHA-256 differs (the file is deleted).</exception>
    public static Task<string> FetchAsync(Uri url, string sha256, string cacheDir, CancellationToken cancellationToken) =>
        FetchAsync(SharedClient, url, sha256, cacheDir, cancellationToken);

    /// <summary>As <see cref="FetchAsync(Uri, string, string, CancellationToken)"/>, with the caller's HttpClient.</summary>
    public static async Task<string> FetchAsync(HttpClient client, Uri url, string sha256, string cacheDir, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(sha256);
        ArgumentNullException.ThrowIfNull(cacheDir);
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"weights URL '{url}' must be an absolute http:// or https:// URL", nameof(url));
        }

        string expected = sha256.Trim().ToLowerInvariant();
        if (expected.Length != 64 || !expected.All(Uri.IsHexDigit))
        {
            throw new ArgumentException($"'{sha256}' is not a SHA-256 digest (64 hexadecimal digits)", nameof(sha256));
        }

        Directory.CreateDirectory(cacheDir);
        // The digest names the file: two URLs of the same bytes share it, and a changed digest never reuses a stale file.
        string name = Path.GetFileName(url.AbsolutePath);
        string final = Path.Combine(cacheDir, $"{expected[..16]}-{(string.IsNullOrEmpty(name) ? "weights" : name)}");
        string partial = final + ".partial";

        if (File.Exists(final))
        {
            if (await HashAsync(final, cancellationToken).ConfigureAwait(false) == expected)
            {
                return final;
            }

            File.Delete(final);
        }

        await DownloadAsync(client, url, partial, cancellationToken).ConfigureAwait(false);
        string actual = await HashAsync(partial, cancellationToken).ConfigureAwait(false);
        if (actual != expected)
        {
            File.Delete(partial);
            throw new InvalidDataException(
                $"weights from {url} have SHA-256 {actual}, expected {expected}; the download was discarded");
        }

        File.Move(partial, final, overwrite: true);
        return final;
    }

    private static async Task DownloadAsync(HttpClient client, Uri url, string partial, CancellationToken cancellationToken)
    {
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0)
        {
            request.Headers.Range = new RangeHeaderValue(have, null);
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        FileMode mode;
        if (have > 0 && response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == have)
        {
            mode = FileMode.Append;
        }
        else if (have > 0 && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The partial file is already complete (or longer than the resource): let the digest decide.
            return;
        }
        else
        {
            // 200: the server ignored the range (or there was none); start over.
            response.EnsureSuccessStatusCode();
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                throw new HttpRequestException(
                    $"{url}: the server answered a range other than the one asked for ({response.Content.Headers.ContentRange})");
            }

            mode = FileMode.Create;
        }

        using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var file = new FileStream(partial, mode, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        await body.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        byte[] digest = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexString(digest).ToLower(CultureInfo.InvariantCulture);
    }
}
