using System.Net;
using k8s;
using k8s.Models;

namespace KubeEmulator.Tests;

/// <summary>Fault injection (errors, Retry-After, conflict storms, latency) and the request log.</summary>
public sealed class FaultAndRequestLogTests : IAsyncLifetime
{
    private KubeEmulatorServer _server = null!;
    private k8s.Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _server = await KubeEmulatorServer.StartAsync(new EmulatorOptions());
        _client = _server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Fail_next_answers_the_configured_codes_then_recovers()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "fault");
        var rule = _server.Faults.FailNext(2, 503, verb: "create", resource: "configmaps", retryAfterSeconds: 7);
        var (status, body) = await RawHttp.SendAsync(_server, HttpMethod.Post, $"/api/v1/namespaces/{ns}/configmaps", "{\"metadata\":{\"name\":\"a\"}}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("ServiceUnavailable", (string?)body!["reason"]);
        using var http = RawHttp.Client(_server);
        using var resp = await http.PostAsync($"/api/v1/namespaces/{ns}/configmaps", new StringContent("{\"metadata\":{\"name\":\"a\"}}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, resp.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), resp.Headers.RetryAfter!.Delta);
        Assert.Equal(2, rule.Hits);
        // Other verbs and resources were never affected, and the third create succeeds.
        await _client.CoreV1.ListNamespacedSecretAsync(ns);
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, ns);
    }

    [Fact]
    public async Task Error_rate_of_one_fails_every_match_with_429_and_clear_removes_it()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "rate");
        _server.Faults.AddErrorRate(1.0, 429, verb: "list", resource: "pods");
        var e = await TestSupport.ApiErrorAsync(() => _client.CoreV1.ListNamespacedPodAsync(ns));
        Assert.Equal(HttpStatusCode.TooManyRequests, e.Response.StatusCode);
        _server.Faults.Clear();
        Assert.Empty((await _client.CoreV1.ListNamespacedPodAsync(ns)).Items);
    }

    [Fact]
    public async Task Conflict_storm_rejects_updates_with_409()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "storm");
        var cm = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, ns);
        _server.Faults.ConflictStorm(3, "configmaps");
        for (var i = 0; i < 3; i++)
        {
            var e = await TestSupport.ApiErrorAsync(() => _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"data\":{\"k\":\"v\"}}", V1Patch.PatchType.MergePatch), "a", ns));
            Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
        }
        cm.Data = new Dictionary<string, string> { ["k"] = "v" };
        Assert.Equal("v", (await _client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, "a", ns)).Data["k"]);
    }

    [Fact]
    public async Task Control_endpoint_adds_lists_and_clears_faults_for_admins_only()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "ctl");
        var (added, rule) = await RawHttp.SendAsync(_server, HttpMethod.Post, "/emulator/faults", "{\"type\":\"error\",\"count\":1,\"code\":500,\"verb\":\"list\",\"resource\":\"secrets\"}");
        Assert.Equal(HttpStatusCode.OK, added);
        Assert.Equal(500, (int?)rule!["code"]);
        var e = await TestSupport.ApiErrorAsync(() => _client.CoreV1.ListNamespacedSecretAsync(ns));
        Assert.Equal(HttpStatusCode.InternalServerError, e.Response.StatusCode);
        await _client.CoreV1.ListNamespacedSecretAsync(ns);
        var (bad, status) = await RawHttp.SendAsync(_server, HttpMethod.Post, "/emulator/faults", "{\"type\":\"error\",\"rate\":2}");
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("rate must be between 0 and 1", (string?)status!["message"], StringComparison.Ordinal);
        var (denied, _) = await RawHttp.SendAsync(_server, HttpMethod.Delete, "/emulator/faults", token: _server.IssueServiceAccountToken(ns, "x"));
        Assert.Equal(HttpStatusCode.Forbidden, denied);
        var (counts, body) = await RawHttp.SendAsync(_server, HttpMethod.Get, "/emulator/requests");
        Assert.Equal(HttpStatusCode.OK, counts);
        Assert.Contains(body!["counts"]!.AsArray(), c => (string?)c!["verb"] == "list" && (string?)c["resource"] == "secrets");
    }

    [Fact]
    public async Task Request_log_counts_by_verb_resource_and_user()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "log");
        _server.Requests.Clear();
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, ns);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"data\":{\"k\":\"v\"}}", V1Patch.PatchType.MergePatch), "a", ns);
        await _client.CoreV1.ReadNamespacedConfigMapAsync("a", ns);
        using var sa = _server.CreateClient(_server.IssueServiceAccountToken(ns, "x"));
        await Assert.ThrowsAnyAsync<Exception>(() => sa.CoreV1.ListNamespacedConfigMapAsync(ns));
        Assert.Equal(2, _server.Requests.Writes("configmaps"));
        Assert.Equal(1, _server.Requests.Count("get", "configmaps"));
        Assert.Equal(1, _server.Requests.Count("list", "configmaps", $"system:serviceaccount:{ns}:x"));
        Assert.Contains(_server.Requests.Snapshot(), r => r.Verb == "list" && r.StatusCode == 403);
    }

    [Fact]
    public async Task Latency_is_added_before_serving_on_the_emulators_clock()
    {
        // On a fake clock the injected delay only passes when the test advances time: no wall-clock timing involved.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await KubeEmulatorServer.StartAsync(new EmulatorOptions { Time = clock });
        using var client = server.CreateClient();
        server.Faults.AddLatency(TimeSpan.FromSeconds(30), verb: "get", resource: "namespaces");
        var read = client.CoreV1.ReadNamespaceAsync("default");
        await Task.Delay(300);
        Assert.False(read.IsCompleted, "answered before the injected latency elapsed on the emulator's clock");
        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal("default", (await read).Metadata.Name);
    }
}
