using System.Net;
using System.Net.Sockets;
using System.Text;
using BiT.Operator.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace BiT.Operator.Tests.Runtime;

public sealed class HealthServerTests
{
    [Fact]
    public async Task Serves_health_readiness_and_metrics_and_nothing_else()
    {
        var ready = false;
        var registry = Metrics.NewCustomRegistry();
        Metrics.WithCustomRegistry(registry).CreateGauge("bit_test_gauge", "A gauge for the test.").Set(42);
        await using var server = await HealthServer.StartAsync("127.0.0.1", 0, () => ready, registry, NullLoggerFactory.Instance, CancellationToken.None);
        Assert.NotEqual(0, server.Port);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };

        using (var healthz = await http.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
            Assert.Equal("ok", await healthz.Content.ReadAsStringAsync());
        }

        using (var notReady = await http.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            Assert.Equal("not ready", await notReady.Content.ReadAsStringAsync());
        }

        ready = true;
        using (var isReady = await http.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, isReady.StatusCode);
        }

        using (var metrics = await http.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
            Assert.Contains("bit_test_gauge 42", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var missing = await http.GetAsync("/nothing-here"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (var post = await http.PostAsync("/healthz", new StringContent("x")))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        }
    }

    [Fact]
    public async Task A_garbled_request_gets_400_and_the_server_keeps_serving()
    {
        await using var server = await HealthServer.StartAsync("127.0.0.1", 0, () => true, Metrics.NewCustomRegistry(), NullLoggerFactory.Instance, CancellationToken.None);
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, server.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync("nonsense\r\n\r\n"u8.ToArray());
            using var reader = new StreamReader(stream, Encoding.ASCII);
            Assert.StartsWith("HTTP/1.1 400", await reader.ReadLineAsync(), StringComparison.Ordinal);
        }

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        Assert.Equal("ok", await http.GetStringAsync("/healthz"));
    }

    [Fact]
    public async Task After_dispose_the_port_is_closed()
    {
        var server = await HealthServer.StartAsync("127.0.0.1", 0, () => true, Metrics.NewCustomRegistry(), NullLoggerFactory.Instance, CancellationToken.None);
        var port = server.Port;
        await server.DisposeAsync();
        using var tcp = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => tcp.ConnectAsync(IPAddress.Loopback, port));
    }

    [Fact]
    public async Task Metrics_are_streamed_in_chunks_and_a_failure_part_way_is_not_a_complete_page()
    {
        // About 1 MB of series, written in many small writes as the per-job writer does.
        var line = Encoding.UTF8.GetBytes("bit_job_progress_ratio{kind=\"BiTFineTuneJob\",namespace=\"ml\",name=\"job-00000\"} 0.25\n");
        var fail = false;
        async Task Write(Stream body, CancellationToken ct)
        {
            for (var i = 0; i < 12_000; i++)
            {
                await body.WriteAsync(line, ct);
                if (fail && i == 6_000)
                {
                    throw new InvalidOperationException("scrape failed");
                }
            }
        }

        await using var server = await HealthServer.StartAsync("127.0.0.1", 0, () => true, Write, NullLoggerFactory.Instance, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        using (var response = await http.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Headers.TransferEncodingChunked);
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(12_000 * line.Length, body.Length);
            Assert.Equal(line, body.AsSpan(body.Length - line.Length).ToArray());
        }

        // Cut off after half the series: the body lacks its last chunk, so the client fails instead of reading a short page.
        fail = true;
        await Assert.ThrowsAnyAsync<HttpRequestException>(async () =>
        {
            using var response = await http.GetAsync("/metrics");
            await response.Content.ReadAsByteArrayAsync();
        });
    }

    [Fact]
    public async Task A_port_in_use_is_a_configuration_error_with_a_sentence()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var e = await Assert.ThrowsAsync<BiT.Operator.Hosting.ConfigurationException>(
            () => HealthServer.StartAsync("127.0.0.1", port, () => true, Metrics.NewCustomRegistry(), NullLoggerFactory.Instance, CancellationToken.None));
        Assert.Contains($"cannot listen on 127.0.0.1:{port}", e.Message, StringComparison.Ordinal);
        Assert.Contains("--metrics-port", e.Message, StringComparison.Ordinal);
    }
}
