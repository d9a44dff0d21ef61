using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace BiT.Operator.Runtime;

/// <summary>/healthz, /readyz and /metrics on a small Kestrel host.</summary>
public sealed class HealthServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HealthServer(WebApplication app) => _app = app;

    /// <summary>The port actually bound (useful with port 0).</summary>
    public int Port { get; private set; }

    public static async Task<HealthServer> StartAsync(
        string bindAddress, int port, Func<bool> ready, CollectorRegistry registry, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        _ = loggerFactory; // Kestrel's own lifetime chatter stays out of the operator's log.
        builder.WebHost.UseUrls($"http://{bindAddress}:{port}");
        var app = builder.Build();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", () => ready() ? Results.Text("ok") : Results.Text("not ready", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapMetrics("/metrics", registry);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var server = new HealthServer(app);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        server.Port = address is null ? port : new Uri(address).Port;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
