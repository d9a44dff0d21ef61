using Prometheus;

namespace BiT.Trainer.Telemetry;

/// <summary>Serves a registry at <c>http://+:port/metrics</c> with prometheus-net's stand-alone server.</summary>
public sealed class MetricsEndpoint : IAsyncDisposable
{
    private readonly MetricServer server;

    public MetricsEndpoint(int port, CollectorRegistry registry, string hostname = "+")
    {
        server = new MetricServer(hostname, port, "metrics/", registry);
        server.Start();
        Port = port;
    }

    public int Port { get; }

    public async ValueTask DisposeAsync() => await server.StopAsync();
}
