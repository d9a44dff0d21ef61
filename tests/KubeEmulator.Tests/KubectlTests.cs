using k8s;

namespace KubeEmulator.Tests;

/// <summary>The real kubectl against the emulator: apply, get with printer columns, status patch, wait, watch, cascade delete.</summary>
public sealed class KubectlTests : IAsyncLifetime
{
    private const string WidgetYaml = """
        apiVersion: example.com/v1
        kind: Widget
        metadata:
          name: w1
          namespace: kc
        spec:
          size: 3
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("kubectl-test-").FullName;
    private KubeEmulatorServer _server = null!;
    private Kubectl _kubectl = null!;

    public async Task InitializeAsync()
    {
        _server = await KubeEmulatorServer.StartAsync(new EmulatorOptions());
        var kubeconfig = _server.WriteKubeconfig(Path.Combine(_dir, "kubeconfig"));
        _kubectl = new Kubectl(kubeconfig, Path.Combine(_dir, "cache"));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>kubectl create namespace sends a protobuf body (decoded by the emulator for the kinds kubectl create makes).</summary>
    private Task<string> NamespaceAsync(string name) => OkAsync("create", "namespace", name);

    private async Task<string> OkAsync(params string[] args) => await OkWithInputAsync(null, args);

    private async Task<string> OkWithInputAsync(string? stdin, params string[] args)
    {
        var (exit, stdout, stderr) = await _kubectl.RunWithInputAsync(stdin, args);
        Assert.True(exit == 0, $"kubectl {string.Join(' ', args)} exited {exit}: {stderr}");
        return stdout;
    }

    [Fact]
    public async Task Apply_get_patch_status_wait_watch_and_cascade_delete()
    {
        await NamespaceAsync("kc");
        Assert.Contains("widgets.example.com created", await OkWithInputAsync(TestSupport.WidgetCrdYaml, "apply", "-f", "-"), StringComparison.Ordinal);
        await OkAsync("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=30s");
        Assert.Contains("widget.example.com/w1 created", await OkWithInputAsync(WidgetYaml, "apply", "-f", "-"), StringComparison.Ordinal);
        // Re-applying a changed manifest patches (a three-way JSON merge patch for custom resources).
        Assert.Contains("configured", await OkWithInputAsync(WidgetYaml.Replace("size: 3", "size: 4", StringComparison.Ordinal), "apply", "-f", "-"), StringComparison.Ordinal);

        var table = await OkAsync("get", "wd", "-n", "kc");
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["NAME", "SIZE", "READY", "AGE"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("w1", lines[1], StringComparison.Ordinal);
        Assert.Equal("4", lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

        var json = System.Text.Json.Nodes.JsonNode.Parse(await OkAsync("get", "widget", "w1", "-n", "kc", "-o", "json"))!;
        Assert.Equal(2, (long?)json["metadata"]!["generation"]);
        Assert.Equal("red", (string?)json["spec"]!["color"]);

        var (watcher, watchOut) = _kubectl.Start("get", "widgets", "-n", "kc", "-w", "--no-headers");
        try
        {
            var wait = _kubectl.RunAsync("wait", "--for=condition=Ready", "widget/w1", "-n", "kc", "--timeout=30s");
            await OkAsync("patch", "widget", "w1", "-n", "kc", "--subresource=status", "--type=merge", "-p", "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Done\",\"message\":\"ok\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}");
            var (waitExit, waitOut, waitErr) = await wait;
            Assert.True(waitExit == 0, waitErr);
            Assert.Contains("condition met", waitOut, StringComparison.Ordinal);
            Assert.True(await TestSupport.EventuallyAsync(() =>
            {
                lock (watchOut)
                {
                    return Task.FromResult(watchOut.ToString().Contains("True", StringComparison.Ordinal));
                }
            }));
        }
        finally
        {
            watcher.Kill();
            await watcher.WaitForExitAsync();
            watcher.Dispose();
        }
        Assert.Contains("True", (await OkAsync("get", "wd", "w1", "-n", "kc", "--no-headers")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2], StringComparison.Ordinal);
        Assert.Contains("Conditions", await OkAsync("describe", "widget", "w1", "-n", "kc"), StringComparison.Ordinal);

        // A ConfigMap owned by the widget goes with it (kubectl delete cascades in the background by default).
        using var client = _server.CreateClient();
        var uid = (string?)json["metadata"]!["uid"];
        await OkWithInputAsync($$"""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: owned
              namespace: kc
              ownerReferences:
              - apiVersion: example.com/v1
                kind: Widget
                name: w1
                uid: {{uid}}
            data:
              a: "1"
            """, "apply", "-f", "-");
        Assert.Contains("deleted", await OkAsync("delete", "widget", "w1", "-n", "kc"), StringComparison.Ordinal);
        Assert.True(await TestSupport.GoneAsync(() => client.CoreV1.ReadNamespacedConfigMapAsync("owned", "kc")));
        Assert.Contains("No resources found", (await _kubectl.RunAsync("get", "wd", "-n", "kc")).Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kubectl_create_token_sends_protobuf_and_gets_a_token_the_server_accepts()
    {
        await NamespaceAsync("kct");
        await OkAsync("create", "serviceaccount", "robot", "-n", "kct");
        var token = (await OkAsync("create", "token", "robot", "-n", "kct", "--duration=10m", "--audience=https://kubernetes.default.svc")).Trim();
        Assert.False(string.IsNullOrWhiteSpace(token));

        // The token authenticates as the account: allowed to ask who it is, not (without a binding) to list pods.
        var (exit, _, err) = await _kubectl.RunAsync("get", "pods", "-n", "kct", "--token", token);
        Assert.NotEqual(0, exit);
        Assert.Contains("User \"system:serviceaccount:kct:robot\" cannot list resource \"pods\"", err, StringComparison.Ordinal);

        var request = _server.Requests.Snapshot().Last(r => r.ResourceKey == "serviceaccounts/token" && r.Name == "robot");
        Assert.Equal(("create", 201), (request.Verb, request.StatusCode));

        var (missingExit, _, missingErr) = await _kubectl.RunAsync("create", "token", "nobody", "-n", "kct");
        Assert.NotEqual(0, missingExit);
        Assert.Contains("serviceaccounts \"nobody\" not found", missingErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schema_violation_and_rbac_denial_surface_in_kubectl()
    {
        await NamespaceAsync("kc2");
        await OkWithInputAsync(TestSupport.WidgetCrdYaml, "apply", "-f", "-");
        var (exit, _, err) = await _kubectl.RunWithInputAsync(WidgetYaml.Replace("size: 3", "size: 99", StringComparison.Ordinal).Replace("namespace: kc", "namespace: kc2", StringComparison.Ordinal), "apply", "-f", "-");
        Assert.NotEqual(0, exit);
        Assert.Contains("spec.size: Invalid value: 99: spec.size in body should be less than or equal to 10", err, StringComparison.Ordinal);
        var (exit2, _, err2) = await _kubectl.RunAsync("get", "pods", "-n", "kc2", "--token", _server.IssueServiceAccountToken("kc2", "viewer"));
        Assert.NotEqual(0, exit2);
        Assert.Contains("pods is forbidden: User \"system:serviceaccount:kc2:viewer\" cannot list resource \"pods\" in API group \"\" in the namespace \"kc2\"", err2, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Builtin_apply_uses_strategic_merge_and_kubectl_get_pods_shows_status()
    {
        await NamespaceAsync("kc3");
        const string pod = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: p
              namespace: kc3
              labels: {app: x}
            spec:
              containers:
              - name: main
                image: busybox:1
                env: [{name: A, value: "1"}]
            """;
        await OkWithInputAsync(pod, "apply", "-f", "-");
        Assert.Contains("configured", await OkWithInputAsync(pod.Replace("busybox:1", "busybox:2", StringComparison.Ordinal), "apply", "-f", "-"), StringComparison.Ordinal);
        var row = (await OkAsync("get", "pods", "-n", "kc3", "--no-headers")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["p", "0/1", "Pending", "0"], row.Take(4));
        Assert.Equal("busybox:2", await OkAsync("get", "pod", "p", "-n", "kc3", "-o", "jsonpath={.spec.containers[0].image}"));
        Assert.Contains("pod \"p\" deleted", await OkAsync("delete", "pod", "p", "-n", "kc3"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Imperative_creates_send_protobuf_and_auth_can_i_impersonates()
    {
        await NamespaceAsync("kc4");
        await OkAsync("create", "configmap", "c1", "-n", "kc4", "--from-literal=a=b");
        await OkAsync("create", "secret", "generic", "s1", "-n", "kc4", "--from-literal=pw=hunter2");
        await OkAsync("create", "serviceaccount", "robot", "-n", "kc4");
        await OkAsync("create", "role", "reader", "-n", "kc4", "--verb=get,list", "--resource=pods");
        await OkAsync("create", "rolebinding", "reader", "-n", "kc4", "--role=reader", "--serviceaccount=kc4:robot");
        Assert.Equal("{\"a\":\"b\"}", await OkAsync("get", "configmap", "c1", "-n", "kc4", "-o", "jsonpath={.data}"));
        Assert.Equal("aHVudGVyMg==", await OkAsync("get", "secret", "s1", "-n", "kc4", "-o", "jsonpath={.data.pw}"));
        Assert.Equal("yes", (await OkAsync("auth", "can-i", "list", "pods", "-n", "kc4", "--as=system:serviceaccount:kc4:robot")).Trim());
        var (exit, output, _) = await _kubectl.RunAsync("auth", "can-i", "delete", "pods", "-n", "kc4", "--as=system:serviceaccount:kc4:robot");
        Assert.NotEqual(0, exit);
        Assert.Equal("no", output.Trim());
        var (exit2, _, err2) = await _kubectl.RunAsync("get", "secrets", "-n", "kc4", "--as=system:serviceaccount:kc4:robot");
        Assert.NotEqual(0, exit2);
        Assert.Contains("secrets is forbidden: User \"system:serviceaccount:kc4:robot\" cannot list resource \"secrets\"", err2, StringComparison.Ordinal);
    }
}
