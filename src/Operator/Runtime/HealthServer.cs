using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace BiT.Operator.Runtime;

/// <summary>
/// /healthz, /readyz and /metrics over a minimal HTTP/1.1 server (one request per connection, GET only).
/// Deliberately not ASP.NET Core: Kestrel, hosting and DI cost the operator several MiB of resident memory
/// (docs/benchmarks.md, "Operator at scale") for three plain-text endpoints that probes and Prometheus read. Not
/// HttpListener either (prometheus-net's MetricServer is built on it): it measured 2-18 MiB more, and it ends an
/// aborted chunked body as if it were complete (docs/benchmarks.md, "the health/metrics server").
/// </summary>
public sealed class HealthServer : IAsyncDisposable
{
    private const int MaxRequestHead = 8192;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly TcpListener _listener;
    private readonly Func<bool> _ready;
    private readonly Func<Stream, CancellationToken, Task> _writeMetrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private HealthServer(TcpListener listener, Func<bool> ready, Func<Stream, CancellationToken, Task> writeMetrics, ILogger logger)
    {
        _listener = listener;
        _ready = ready;
        _writeMetrics = writeMetrics;
        _logger = logger;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _accepting = AcceptLoopAsync(_stop.Token);
    }

    /// <summary>The port actually bound (useful with port 0).</summary>
    public int Port { get; }

    public static Task<HealthServer> StartAsync(
        string bindAddress, int port, Func<bool> ready, CollectorRegistry registry, ILoggerFactory loggerFactory, CancellationToken cancellationToken) =>
        StartAsync(bindAddress, port, ready, registry.CollectAndExportAsTextAsync, loggerFactory, cancellationToken);

    /// <summary>Serves /metrics with <paramref name="writeMetrics"/> (Prometheus text format 0.0.4 into the given stream).</summary>
    public static Task<HealthServer> StartAsync(
        string bindAddress, int port, Func<bool> ready, Func<Stream, CancellationToken, Task> writeMetrics, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var address = bindAddress is "*" or "+" or "0.0.0.0" or "" ? IPAddress.Any
            : bindAddress is "::" or "[::]" ? IPAddress.IPv6Any
            : bindAddress is "localhost" ? IPAddress.Loopback
            : IPAddress.Parse(bindAddress.Trim('[', ']'));
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            // A port in use is a configuration error with a sentence, not a crash with a stack trace.
            throw new BiT.Operator.Hosting.ConfigurationException(
                $"cannot listen on {bindAddress}:{port} for /metrics and health probes: {ex.Message} (choose another --metrics-port)", ex);
        }
        return Task.FromResult(new HealthServer(listener, ready, writeMetrics, loggerFactory.CreateLogger<HealthServer>()));
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                _logger.LogWarning(ex, "Health server: accept failed");
                continue;
            }

            _ = ServeAsync(socket, cancellationToken);
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            var (method, path) = await ReadRequestLineAsync(stream, timeout.Token).ConfigureAwait(false);
            if (method is null)
            {
                await WriteAsync(stream, 400, "Bad Request", "text/plain; charset=utf-8", "bad request\n"u8.ToArray(), true, timeout.Token).ConfigureAwait(false);
                return;
            }

            var head = method == "HEAD";
            if (method != "GET" && !head)
            {
                await WriteAsync(stream, 405, "Method Not Allowed", "text/plain; charset=utf-8", "method not allowed\n"u8.ToArray(), true, timeout.Token).ConfigureAwait(false);
                return;
            }

            var query = path.IndexOf('?', StringComparison.Ordinal);
            switch (query >= 0 ? path[..query] : path)
            {
                case "/healthz":
                    await WriteAsync(stream, 200, "OK", "text/plain; charset=utf-8", "ok"u8.ToArray(), !head, timeout.Token).ConfigureAwait(false);
                    break;
                case "/readyz":
                    var ready = _ready();
                    await WriteAsync(stream, ready ? 200 : 503, ready ? "OK" : "Service Unavailable", "text/plain; charset=utf-8",
                        ready ? "ok"u8.ToArray() : "not ready"u8.ToArray(), !head, timeout.Token).ConfigureAwait(false);
                    break;
                case "/metrics":
                    await WriteMetricsAsync(stream, !head, timeout.Token).ConfigureAwait(false);
                    break;
                default:
                    await WriteAsync(stream, 404, "Not Found", "text/plain; charset=utf-8", "not found\n"u8.ToArray(), !head, timeout.Token).ConfigureAwait(false);
                    break;
            }
        }
#pragma warning disable CA1031 // One bad or slow client must not stop the server; it is logged at debug level only.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.LogDebug(ex, "Health server: request failed");
        }
    }

    /// <summary>Reads the request head up to its blank line; returns the method and target, or nulls if malformed.</summary>
    private static async Task<(string? Method, string Path)> ReadRequestLineAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestHead];
        var length = 0;
        while (true)
        {
            var end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                end = buffer.AsSpan(0, length).IndexOf("\n\n"u8);
            }

            if (end >= 0)
            {
                break;
            }

            if (length == buffer.Length)
            {
                return (null, "");
            }

            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return (null, "");
            }

            length += read;
        }

        var lineEnd = buffer.AsSpan(0, length).IndexOf((byte)'\n');
        var line = Encoding.ASCII.GetString(buffer, 0, lineEnd).TrimEnd('\r');
        var parts = line.Split(' ');
        return parts.Length == 3 && parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) && parts[1].StartsWith('/')
            ? (parts[0], parts[1])
            : (null, "");
    }

    /// <summary>
    /// Streams the metrics in chunks (Transfer-Encoding: chunked) instead of buffering the whole body: with thousands
    /// of per-job series it is megabytes, and a buffer that size is a large-object allocation on every scrape. A
    /// failure part way leaves the body without its last chunk, so the scraper sees an error, not a short page.
    /// </summary>
    private async Task WriteMetricsAsync(NetworkStream stream, bool includeBody, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"u8.ToArray(),
            cancellationToken).ConfigureAwait(false);
        if (includeBody)
        {
            var buffered = new BufferedStream(new ChunkedStream(stream), 16 * 1024);
            await using (buffered.ConfigureAwait(false))
            {
                await _writeMetrics(buffered, cancellationToken).ConfigureAwait(false);
                await buffered.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        }

        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes each write as one HTTP/1.1 chunk to the connection (which it does not close).</summary>
    private sealed class ChunkedStream(Stream inner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (buffer.IsEmpty)
            {
                return;
            }

            inner.Write(Encoding.ASCII.GetBytes(buffer.Length.ToString("X", System.Globalization.CultureInfo.InvariantCulture) + "\r\n"));
            inner.Write(buffer);
            inner.Write("\r\n"u8);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty)
            {
                return;
            }

            await inner.WriteAsync(Encoding.ASCII.GetBytes(buffer.Length.ToString("X", System.Globalization.CultureInfo.InvariantCulture) + "\r\n"), cancellationToken).ConfigureAwait(false);
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            await inner.WriteAsync("\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task WriteAsync(NetworkStream stream, int status, string reason, string contentType, ReadOnlyMemory<byte> body, bool includeBody, CancellationToken cancellationToken)
    {
        var head = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), cancellationToken).ConfigureAwait(false);
        if (includeBody)
        {
            await stream.WriteAsync(body, cancellationToken).ConfigureAwait(false);
        }

        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        try
        {
            await _accepting.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        _stop.Dispose();
    }
}
