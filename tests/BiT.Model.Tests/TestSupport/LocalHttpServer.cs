using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace BiT.Model.Tests.TestSupport;

/// <summary>
/// An HTTP server on 127.0.0.1 that serves one byte array, honours "Range: bytes=N-" (unless told not to), can cut
/// the connection after a number of bytes, and records what it was asked for.
/// </summary>
internal sealed class LocalHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly byte[] _content;
    private readonly Task _loop;

    public LocalHttpServer(byte[] content, string path = "/weights/BiT-test.npz")
    {
        _content = content;
        int port = FreePort();
        Url = new Uri($"http://127.0.0.1:{port}{path}");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public Uri Url { get; }

    /// <summary>The Range header of each request, or "" when there was none.</summary>
    public ConcurrentQueue<string> Ranges { get; } = new();

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>When set, the next response stops after this many body bytes and the connection is dropped.</summary>
    public int? CutAfterBytes { get; set; }

    public bool IgnoreRange { get; set; }

    /// <summary>When set, every request is answered 302 with this Location.</summary>
    public string? RedirectTo { get; set; }

    /// <summary>When set, every request is answered with this status and no body.</summary>
    public int? Status { get; set; }

    /// <summary>When set, the headers are sent and then nothing until the server is disposed.</summary>
    public bool Stall { get; set; }

    private readonly CancellationTokenSource _stopping = new();

    private long _bytesSent;

    public void Dispose()
    {
        _stopping.Cancel();
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends with the listener's disposal.
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            await HandleAsync(context);
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var response = context.Response;
        string range = context.Request.Headers["Range"] ?? "";
        Ranges.Enqueue(range);
        if (RedirectTo is { } location)
        {
            response.StatusCode = 302;
            response.RedirectLocation = location;
            response.Close();
            return;
        }

        if (Status is { } status)
        {
            response.StatusCode = status;
            response.Close();
            return;
        }

        if (Stall)
        {
            response.ContentLength64 = _content.Length;
            await response.OutputStream.WriteAsync(_content.AsMemory(0, 10));
            await response.OutputStream.FlushAsync();
            try
            {
                await Task.Delay(Timeout.Infinite, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                response.Abort();
            }
            return;
        }

        if (context.Request.Url!.AbsolutePath != Url.AbsolutePath)
        {
            response.StatusCode = 404;
            response.Close();
            return;
        }

        long from = 0;
        if (!IgnoreRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = long.Parse(range[6..^1], CultureInfo.InvariantCulture);
            if (from >= _content.Length)
            {
                response.StatusCode = 416;
                response.Close();
                return;
            }

            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{_content.Length - 1}/{_content.Length}";
        }

        long length = _content.Length - from;
        response.ContentLength64 = length;
        int? cut = CutAfterBytes;
        CutAfterBytes = null;
        int send = (int)Math.Min(length, cut ?? length);
        // Counted before sending: the client may have everything (and the test may look) before the write returns.
        Interlocked.Add(ref _bytesSent, send);
        try
        {
            await response.OutputStream.WriteAsync(_content.AsMemory((int)from, send));
            await response.OutputStream.FlushAsync();
            if (cut is not null)
            {
                response.Abort();
                return;
            }

            response.Close();
        }
        catch (HttpListenerException)
        {
            response.Abort();
        }
    }
}
