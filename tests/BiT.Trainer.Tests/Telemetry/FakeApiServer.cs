using System.Net;
using System.Net.Sockets;

namespace BiT.Trainer.Tests.Telemetry;

/// <summary>A tiny HTTP server on 127.0.0.1 that records requests and answers with a fixed status.</summary>
internal sealed class FakeApiServer : IAsyncDisposable
{
    private readonly HttpListener listener = new();
    private readonly Task loop;

    public FakeApiServer(HttpStatusCode status = HttpStatusCode.OK)
    {
        Port = FreePort();
        listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        listener.Start();
        Status = status;
        loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public HttpStatusCode Status { get; set; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}");

    public List<(string Method, string Path, string ContentType, string? Authorization, string Body)> Requests { get; } = [];

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        listener.Stop();
        try
        {
            await loop;
        }
        catch (HttpListenerException)
        {
            // Stopped.
        }
        catch (ObjectDisposedException)
        {
            // Stopped.
        }
        listener.Close();
    }

    private async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            lock (Requests)
            {
                Requests.Add((context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.ContentType ?? "", context.Request.Headers["Authorization"], body));
            }
            // An API server answers a patch with the object (here an empty one) or a Status.
            context.Response.StatusCode = (int)Status;
            context.Response.ContentType = "application/json";
            var answer = "{}"u8.ToArray();
            await context.Response.OutputStream.WriteAsync(answer);
            context.Response.Close();
        }
    }
}
