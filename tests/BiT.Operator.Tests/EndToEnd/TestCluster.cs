using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using BiT.Operator.Hosting;
using k8s;
using k8s.Autorest;
using k8s.Models;
using KubeEmulator;
using Microsoft.Extensions.Logging;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// The emulator's test cluster with the BiT CRDs installed and a namespace for the test, plus helpers to run
/// operator replicas in-process and to wait for a job's status.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    public const string Namespace = "e2e";
    public const string TrainerImage = "bit-trainer:e2e";

    private readonly List<RunningOperator> _operators = [];

    private TestCluster(KubeEmulatorServer server)
    {
        Server = server;
        Admin = server.CreateClient();
    }

    public KubeEmulatorServer Server { get; }

    public Kubernetes Admin { get; }

    public static async Task<TestCluster> StartAsync(EmulatorOptions options)
    {
        var server = await KubeEmulatorServer.StartAsync(options);
        var cluster = new TestCluster(server);
        foreach (var crd in TestCrds.Load())
        {
            await cluster.Admin.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        }

        await cluster.Admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } });
        await WaitUntilAsync(async () =>
        {
            try
            {
                await cluster.Admin.CustomObjects.ListNamespacedCustomObjectAsync(ApiInfo.Group, ApiInfo.Version, Namespace, JobKind.FineTune.Plural);
                return true;
            }
            catch (HttpOperationException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(10), "the CRDs to be served");
        return cluster;
    }

    public static OperatorSettings Settings(string identity = "op-0") => new()
    {
        Namespaces = [Namespace],
        Controller = new ControllerOptions
        {
            TrainerImage = TrainerImage,
            TerminationGracePeriodSeconds = 20,
            StalledPodGracePeriodSeconds = 1,
        },
        Parallelism = 4,
        ResyncPeriod = TimeSpan.FromSeconds(30),
        MetricsPort = 0,
        MetricsBindAddress = "127.0.0.1",
        Identity = identity,
    };

    public RunningOperator StartOperator(OperatorSettings? settings = null, string? token = null)
    {
        settings ??= Settings();
        var client = OperatorClient.Create(Server.CreateClientConfiguration(token), TimeProvider.System);
        var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("BIT_E2E_LOG"), out var level) ? level : LogLevel.Warning));
        var host = new OperatorHost(client, settings, new ContractsJobPlanner(), TimeProvider.System, loggerFactory);
        var running = new RunningOperator(host, client, loggerFactory);
        _operators.Add(running);
        return running;
    }

    /// <summary>An existing ReadWriteMany claim of 1Gi in the test namespace, as a team's shared checkpoint volume.</summary>
    public async Task CreateSharedClaimAsync(string name) =>
        await Admin.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteMany"],
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
            },
        }, Namespace);

    public async Task<JobObject> CreateJobAsync(JobKind kind, string name, JsonObject spec)
    {
        var body = new JsonObject
        {
            ["apiVersion"] = ApiInfo.ApiVersion,
            ["kind"] = kind.Kind,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Namespace },
            ["spec"] = spec,
        };
        var created = await Admin.CustomObjects.CreateNamespacedCustomObjectAsync(
            JsonSerializer.Deserialize<JsonElement>(body.ToJsonString()), ApiInfo.Group, ApiInfo.Version, Namespace, kind.Plural);
        return KubernetesJson.Deserialize<JobObject>(KubernetesJson.Serialize(created));
    }

    public async Task PatchSpecAsync(JobKind kind, string name, JsonObject specPatch)
    {
        var body = new JsonObject { ["spec"] = specPatch };
        await Admin.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch), ApiInfo.Group, ApiInfo.Version, Namespace, kind.Plural, name);
    }

    public async Task<JobObject?> GetJobAsync(JobKind kind, string name)
    {
        try
        {
            var obj = await Admin.CustomObjects.GetNamespacedCustomObjectAsync(ApiInfo.Group, ApiInfo.Version, Namespace, kind.Plural, name);
            return KubernetesJson.Deserialize<JobObject>(KubernetesJson.Serialize(obj));
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Polls the job until its status satisfies the predicate; fails with the last status seen.</summary>
    public async Task<BiTJobStatus> WaitForJobAsync(JobKind kind, string name, Func<BiTJobStatus, bool> predicate, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        BiTJobStatus last = new();
        string raw = "";
        while (DateTime.UtcNow < deadline)
        {
            var job = await GetJobAsync(kind, name);
            if (job is not null)
            {
                last = BiTJobStatus.FromJson(job.Status);
                raw = job.Status?.GetRawText() ?? "";
                if (predicate(last))
                {
                    return last;
                }
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"timed out after {timeout} waiting for {what}; last status: {raw}\n{await DescribePodsAsync()}");
    }

    public async Task<IReadOnlyList<V1Pod>> PodsAsync() =>
        (await Admin.CoreV1.ListNamespacedPodAsync(Namespace)).Items.ToList();

    public async Task<string> DescribePodsAsync()
    {
        var pods = await PodsAsync();
        return string.Join("\n", pods.Select(p =>
            $"pod {p.Metadata.Name}: {p.Status?.Phase} {p.Status?.Reason} deleting={p.Metadata.DeletionTimestamp is not null} " +
            string.Join(",", p.Status?.ContainerStatuses?.Select(c => $"exit={c.State?.Terminated?.ExitCode} msg={c.State?.Terminated?.Message}") ?? [])));
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {timeout} waiting for {what}");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var op in _operators)
        {
            await op.DisposeAsync();
        }

        Admin.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>One operator replica running in this process; stopping it is a graceful shutdown.</summary>
internal sealed class RunningOperator : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Kubernetes _client;
    private readonly ILoggerFactory _loggerFactory;
    private bool _disposed;

    public RunningOperator(OperatorHost host, Kubernetes client, ILoggerFactory loggerFactory)
    {
        Host = host;
        _client = client;
        _loggerFactory = loggerFactory;
        Run = Task.Run(() => host.RunAsync(_stop.Token));
    }

    public OperatorHost Host { get; }

    public Task<int> Run { get; }

    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        return await Run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!Run.IsCompleted)
        {
            await _stop.CancelAsync();
            try
            {
                await Run.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }

        _client.Dispose();
        _loggerFactory.Dispose();
        _stop.Dispose();
    }
}
