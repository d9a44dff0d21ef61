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

    /// <summary>
    /// Starts the endpoint, or warns and returns null when the port cannot be bound: metrics are worth a warning,
    /// never the training run (a pod shares its port space only with its own containers, a laptop with everything).
    /// </summary>
    public static MetricsEndpoint? TryStart(int port, CollectorRegistry registry, Action<string> warn, string hostname = "+")
    {
        ArgumentNullException.ThrowIfNull(warn);
        try
        {
            return new MetricsEndpoint(port, registry, hostname);
        }
        catch (System.Net.HttpListenerException e)
        {
            warn($"warning: no Prometheus metrics: cannot listen on port {port}: {e.Message}");
            return null;
        }
    }

    public async ValueTask DisposeAsync() => await server.StopAsync();
}
