using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace BiT.Model;

/// <summary>
/// Downloads weights given by http(s) URL into a cache directory, resuming a partial download with an HTTP Range
/// request and verifying the SHA-256 before the file is used. A verified file is reused without any request.
/// </summary>
public static class WeightsCache
{
    /// <summary>Fetches <paramref name="url"/> into <paramref name="cacheDir"/> under the policy of this process's environment.</summary>
    /// <exception cref="ArgumentException">Not a SHA-256 in hex, or a bad policy variable.</exception>
    /// <exception cref="WeightsPolicyException">The policy refuses the URL, an address, a redirect or the size.</exception>
    /// <exception cref="HttpRequestException">The server refused the request (<see cref="HttpRequestException.StatusCode"/> says how).</exception>
    /// <exception cref="TimeoutException">The server sent nothing for the policy's idle timeout.</exception>
    /// <exception cref="InvalidDataException">The downloaded file's SHA-256 differs (the file is deleted).</exception>
    public static Task<string> FetchAsync(Uri url, string sha256, string cacheDir, CancellationToken cancellationToken) =>
        FetchAsync(url, sha256, cacheDir, WeightsDownloadPolicy.FromEnvironment(Environment.GetEnvironmentVariable), cancellationToken);

    /// <summary>Fetches <paramref name="url"/> into <paramref name="cacheDir"/> under <paramref name="policy"/>; returns the local path.</summary>
    public static async Task<string> FetchAsync(Uri url, string sha256, string cacheDir, WeightsDownloadPolicy policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        using var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = policy.ConnectTimeout,
            UseProxy = false,
            // Addresses are checked where the connection is made, so a name that resolves differently later
            // (DNS rebinding) cannot reach what the URL check let through.
            ConnectCallback = (context, token) => ConnectAsync(policy, context, token),
        };
        using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        return await FetchAsync(client, url, sha256, cacheDir, policy, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>As the other overloads, with the caller's HttpClient (its handler decides what addresses it reaches).</summary>
    public static async Task<string> FetchAsync(HttpClient client, Uri url, string sha256, string cacheDir, WeightsDownloadPolicy policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(sha256);
        ArgumentNullException.ThrowIfNull(cacheDir);
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.UrlProblem(url) is { } problem)
        {
            throw new WeightsPolicyException(problem);
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

        long size = await DownloadAsync(client, url, partial, policy, cancellationToken).ConfigureAwait(false);
        string actual = await HashAsync(partial, cancellationToken).ConfigureAwait(false);
        if (actual != expected)
        {
            File.Delete(partial);
            // The fetched content's digest is not repeated: it would make the job's status an oracle for what
            // any reachable URL serves.
            throw new InvalidDataException(
                $"weights from {url} ({size} bytes) do not have the SHA-256 the spec gives ({expected}); the download was discarded");
        }

        File.Move(partial, final, overwrite: true);
        return final;
    }

    private static async ValueTask<Stream> ConnectAsync(WeightsDownloadPolicy policy, SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        var allowed = addresses.Where(a => policy.AddressProblem(host, a) is null).ToArray();
        if (allowed.Length == 0)
        {
            throw new WeightsPolicyException(addresses.Length == 0 ? $"weights host {host} has no address" : policy.AddressProblem(host, addresses[0])!);
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Downloads into <paramref name="partial"/> (resuming it when the server honours a range); returns its size.</summary>
    private static async Task<long> DownloadAsync(HttpClient client, Uri url, string partial, WeightsDownloadPolicy policy, CancellationToken cancellationToken)
    {
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var target = url;
        HttpResponseMessage? response = null;
        try
        {
            for (int hops = 0; ; hops++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, target);
                if (have > 0)
                {
                    request.Headers.Range = new RangeHeaderValue(have, null);
                }

                idle.CancelAfter(policy.IdleTimeout);
                response = await Send(client, request, target, policy, idle.Token, cancellationToken).ConfigureAwait(false);
                if ((int)response.StatusCode is not (301 or 302 or 303 or 307 or 308))
                {
                    break;
                }

                var location = response.Headers.Location
                    ?? throw new HttpRequestException($"{target}: a redirect ({(int)response.StatusCode}) without a Location", null, response.StatusCode);
                response.Dispose();
                response = null;
                if (hops + 1 > policy.MaxRedirects)
                {
                    throw new WeightsPolicyException($"weights URL {url}: more than {policy.MaxRedirects} redirects");
                }

                target = location.IsAbsoluteUri ? location : new Uri(target, location);
                if (policy.UrlProblem(target) is { } problem)
                {
                    throw new WeightsPolicyException($"weights URL {url} redirects to {target}: {problem}");
                }
            }

            FileMode mode;
            if (have > 0 && response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == have)
            {
                mode = FileMode.Append;
            }
            else if (have > 0 && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                // The partial file is already complete (or longer than the resource): let the digest decide.
                return have;
            }
            else
            {
                // 200: the server ignored the range (or there was none); start over.
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException(
                        $"weights URL {target} answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
                }

                if (response.StatusCode == HttpStatusCode.PartialContent)
                {
                    throw new HttpRequestException(
                        $"{target}: the server answered a range other than the one asked for ({response.Content.Headers.ContentRange})");
                }

                mode = FileMode.Create;
                have = 0;
            }

            if (response.Content.Headers.ContentLength is { } announced && have + announced > policy.MaxBytes)
            {
                throw new WeightsPolicyException($"weights from {url} are {have + announced} bytes, more than the limit of {policy.MaxBytes} ({WeightsDownloadPolicy.MaxBytesVariable})");
            }

            using var body = await response.Content.ReadAsStreamAsync(idle.Token).ConfigureAwait(false);
            using var file = new FileStream(partial, mode, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            var buffer = new byte[1 << 20];
            long total = have;
            while (true)
            {
                idle.CancelAfter(policy.IdleTimeout);
                int read;
                try
                {
                    read = await body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"weights from {target}: nothing received for {policy.IdleTimeout.TotalSeconds:F0} s after {total} bytes");
                }

                if (read == 0)
                {
                    return total;
                }

                total += read;
                if (total > policy.MaxBytes)
                {
                    file.Close();
                    File.Delete(partial);
                    throw new WeightsPolicyException($"weights from {url} exceed the limit of {policy.MaxBytes} bytes ({WeightsDownloadPolicy.MaxBytesVariable}); the download was discarded");
                }

                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            response?.Dispose();
        }
    }

    private static async Task<HttpResponseMessage> Send(HttpClient client, HttpRequestMessage request, Uri target, WeightsDownloadPolicy policy, CancellationToken idle, CancellationToken caller)
    {
        try
        {
            return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, idle).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (e.InnerException is WeightsPolicyException refused)
        {
            throw new WeightsPolicyException(refused.Message, e);
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            throw new TimeoutException($"weights URL {target}: no answer within {policy.IdleTimeout.TotalSeconds:F0} s");
        }
    }

    private static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        byte[] digest = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexString(digest).ToLower(CultureInfo.InvariantCulture);
    }
}
