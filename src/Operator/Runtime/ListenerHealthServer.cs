using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace BiT.Operator.Runtime;

/// <summary>
/// /healthz, /readyz and /metrics on the BCL's <see cref="HttpListener"/> (what prometheus-net's MetricServer is
/// built on). The same endpoints, bodies and status codes as <see cref="HealthServer"/>; /metrics is sent chunked.
/// </summary>
public sealed class ListenerHealthServer : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Func<bool> _ready;
    private readonly Func<Stream, CancellationToken, Task> _writeMetrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private ListenerHealthServer(HttpListener listener, int port, Func<bool> ready, Func<Stream, CancellationToken, Task> writeMetrics, ILogger logger)
    {
        _listener = listener;
        _ready = ready;
        _writeMetrics = writeMetrics;
        _logger = logger;
        Port = port;
        _accepting = AcceptLoopAsync(_stop.Token);
    }

    /// <summary>The port actually bound (useful with port 0).</summary>
    public int Port { get; }

    public static Task<ListenerHealthServer> StartAsync(
        string bindAddress, int port, Func<bool> ready, Func<Stream, CancellationToken, Task> writeMetrics, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var any = bindAddress is "*" or "+" or "0.0.0.0" or "" or "::" or "[::]";
        var host = any ? "*" : bindAddress is "localhost" ? "127.0.0.1" : bindAddress;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6)
        {
            host = $"[{ip}]";
        }

        // HttpListener has no port 0: take a free port from the kernel first.
        var chosen = port;
        if (port == 0)
        {
            using var probe = new TcpListener(any ? IPAddress.Any : IPAddress.Parse(host.Trim('[', ']')), 0);
            probe.Start();
            chosen = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var listener = new HttpListener { IgnoreWriteExceptions = true };
        listener.Prefixes.Add($"http://{host}:{chosen}/");
        try
        {
            listener.Start();
        }
        catch (HttpListenerException ex)
        {
            listener.Close();
            throw new BiT.Operator.Hosting.ConfigurationException(
                $"cannot listen on {bindAddress}:{port} for /metrics and health probes: {ex.Message} (choose another --metrics-port)", ex);
        }

        return Task.FromResult(new ListenerHealthServer(listener, chosen, ready, writeMetrics, loggerFactory.CreateLogger<ListenerHealthServer>()));
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or HttpListenerException && cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException ex)
            {
                _logger.LogWarning(ex, "Health server: accept failed");
                continue;
            }

            _ = ServeAsync(context, cancellationToken);
        }
    }

    private async Task ServeAsync(HttpListenerContext context, CancellationToken cancellationToken)
    {
        var response = context.Response;
        try
        {
            var method = context.Request.HttpMethod;
            var head = method == "HEAD";
            if (method != "GET" && !head)
            {
                await WriteAsync(response, 405, "method not allowed\n"u8.ToArray(), true, cancellationToken).ConfigureAwait(false);
                return;
            }

            switch (context.Request.Url?.AbsolutePath)
            {
                case "/healthz":
                    await WriteAsync(response, 200, "ok"u8.ToArray(), !head, cancellationToken).ConfigureAwait(false);
                    break;
                case "/readyz":
                    var ready = _ready();
                    await WriteAsync(response, ready ? 200 : 503, ready ? "ok"u8.ToArray() : "not ready"u8.ToArray(), !head, cancellationToken).ConfigureAwait(false);
                    break;
                case "/metrics":
                    response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                    response.SendChunked = true;
                    if (!head)
                    {
#pragma warning disable CA2000 // Disposing it would end the chunked body even after a failure: Close or Abort ends the response.
                        var buffered = new BufferedStream(response.OutputStream, 16 * 1024);
#pragma warning restore CA2000
                        await _writeMetrics(buffered, cancellationToken).ConfigureAwait(false);
                        await buffered.FlushAsync(cancellationToken).ConfigureAwait(false);
                    }

                    response.Close();
                    break;
                default:
                    await WriteAsync(response, 404, "not found\n"u8.ToArray(), !head, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
#pragma warning disable CA1031 // One bad or slow client must not stop the server; it is logged at debug level only.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // Aborting drops the connection before the last chunk, so a scraper sees an error, not a short page.
            response.Abort();
            _logger.LogDebug(ex, "Health server: request failed");
        }
    }

    private static async Task WriteAsync(HttpListenerResponse response, int status, byte[] body, bool includeBody, CancellationToken cancellationToken)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        response.ContentLength64 = body.Length;
        if (includeBody)
        {
            await response.OutputStream.WriteAsync(body, cancellationToken).ConfigureAwait(false);
        }

        response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Close();
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
