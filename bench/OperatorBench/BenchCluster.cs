using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Operator.Api;
using k8s;
using k8s.Models;
using KubeEmulator;

namespace OperatorBench;

/// <summary>An emulator with the BiT CRDs and the bench namespace, and a way to apply many jobs at once.</summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    public const string Namespace = "bench";

    private BenchCluster(KubeEmulatorServer server)
    {
        Server = server;
        Admin = server.CreateClient();
    }

    public KubeEmulatorServer Server { get; }

    public Kubernetes Admin { get; }

    public static async Task<BenchCluster> StartAsync(string repoRoot)
    {
        var server = await KubeEmulatorServer.StartAsync(new EmulatorOptions { RunPods = false });
        server.Requests.Capacity = 1000;
        var cluster = new BenchCluster(server);
        foreach (var file in Directory.GetFiles(Path.Combine(repoRoot, "crds"), "*.yaml").Order(StringComparer.Ordinal))
        {
            await cluster.Admin.ApiextensionsV1.CreateCustomResourceDefinitionAsync(KubernetesYaml.Deserialize<V1CustomResourceDefinition>(await File.ReadAllTextAsync(file)));
        }

        await cluster.Admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } });
        await Task.Delay(500);
        return cluster;
    }

    /// <summary>A valid fine-tune job (facts given, so the operator can resolve its plan) with an existing checkpoint claim.</summary>
    public static JsonObject Spec() => new()
    {
        ["model"] = new JsonObject { ["architecture"] = "R50x1" },
        ["dataset"] = new JsonObject
        {
            ["format"] = "ImageFolder",
            ["path"] = "/data/pets",
            ["numClasses"] = 37,
            ["trainExamples"] = 3680,
            ["imageSize"] = new JsonObject { ["height"] = 500, ["width"] = 375 },
        },
        ["checkpoint"] = new JsonObject { ["everySteps"] = 100, ["volume"] = new JsonObject { ["claimName"] = "shared-ckpt" } },
        ["resources"] = new JsonObject { ["gpus"] = 1 },
    };

    /// <summary>Creates jobs job-{from}..job-{to-1} with bounded concurrency; returns the wall time.</summary>
    public async Task<TimeSpan> ApplyAsync(int from, int to, int concurrency = 32)
    {
        var started = DateTime.UtcNow;
        using var gate = new SemaphoreSlim(concurrency);
        var spec = Spec().ToJsonString();
        var tasks = Enumerable.Range(from, to - from).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var body = new JsonObject
                {
                    ["apiVersion"] = ApiInfo.ApiVersion,
                    ["kind"] = JobKind.FineTune.Kind,
                    ["metadata"] = new JsonObject { ["name"] = $"job-{i:D5}", ["namespace"] = Namespace },
                    ["spec"] = JsonNode.Parse(spec),
                };
                await Admin.CustomObjects.CreateNamespacedCustomObjectAsync(
                    JsonSerializer.Deserialize<JsonElement>(body.ToJsonString()), ApiInfo.Group, ApiInfo.Version, Namespace, JobKind.FineTune.Plural);
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(tasks);
        return DateTime.UtcNow - started;
    }

    public async Task<int> JobsWithPodNameAsync()
    {
        var list = await Admin.CustomObjects.ListNamespacedCustomObjectAsync(ApiInfo.Group, ApiInfo.Version, Namespace, JobKind.FineTune.Plural);
        var json = JsonSerializer.SerializeToNode(list)!;
        return json["items"]!.AsArray().Count(i => i?["status"]?["podName"] is not null);
    }

    public async Task<int> JobsInPhaseAsync(string phase)
    {
        var list = await Admin.CustomObjects.ListNamespacedCustomObjectAsync(ApiInfo.Group, ApiInfo.Version, Namespace, JobKind.FineTune.Plural);
        var json = JsonSerializer.SerializeToNode(list)!;
        return json["items"]!.AsArray().Count(i => (string?)i?["status"]?["phase"] == phase);
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await Server.DisposeAsync();
    }
}
