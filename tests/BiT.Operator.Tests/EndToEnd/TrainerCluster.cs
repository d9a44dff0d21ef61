using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Api;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// One test cluster whose kubelet runs the real bit-trainer (built by the test project's build) for the image
/// <see cref="TestCluster.TrainerImage"/>, with one operator running under the Helm chart's ServiceAccount and RBAC
/// rules (enforced); shared by the trainer tests, which run one after another.
/// </summary>
public sealed class TrainerCluster : IAsyncLifetime
{
    private TestCluster? _cluster;

    internal TestCluster Cluster => _cluster ?? throw new InvalidOperationException("not started");

    internal RunningOperator? Operator { get; set; }

    public static string TrainerPath
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent?.Name ?? "Debug";
            var path = Path.Combine(RepoPaths.Root, "src", "TrainerImage", "bin", configuration, "net10.0", "bit-trainer");
            return File.Exists(path)
                ? path
                : throw new FileNotFoundException($"the trainer is not built at {path}: dotnet build src/TrainerImage -c {configuration}", path);
        }
    }

    public static string Dataset => Path.Combine(RepoPaths.Root, "data", "fashion-mnist-subset");

    /// <summary>A job small enough for a few seconds of CPU: the custom narrow network, 32x32 crops, few steps.</summary>
    internal static JsonObject TinySpec(int totalSteps = 16, int everySteps = 4) => new()
    {
        ["model"] = new JsonObject { ["architecture"] = "Custom", ["blocks"] = new JsonArray(1, 1, 1, 1), ["widthFactor"] = 0.5 },
        ["dataset"] = new JsonObject
        {
            ["format"] = "Idx",
            ["path"] = Dataset,
            ["numClasses"] = 10,
            ["trainExamples"] = 1000,
            ["imageSize"] = new JsonObject { ["height"] = 28, ["width"] = 28 },
        },
        ["hyperparameters"] = new JsonObject { ["batchSize"] = 8, ["totalSteps"] = totalSteps, ["precropSize"] = 36, ["cropSize"] = 32 },
        ["checkpoint"] = new JsonObject { ["everySteps"] = everySteps, ["keep"] = 2, ["volume"] = new JsonObject { ["size"] = "1Gi" } },
        ["runPolicy"] = new JsonObject { ["backoffSeconds"] = 1, ["maxRestarts"] = 3 },
    };

    public async Task InitializeAsync()
    {
        var options = new EmulatorOptions { RunPods = true };
        options.ImageMap[TestCluster.TrainerImage] = TrainerPath;
        _cluster = await TestCluster.StartAsync(options);
        await ChartRbacTests.InstallChartRbacAsync(_cluster);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>
    /// MASTER_PORT of this cluster's gangs. Every pod of the emulator is a process on this host, so a gang's rank 0
    /// listens on a host port: a free one, not torchrun's 29500, which another test run on the machine may hold. The
    /// gang tests run one job at a time (this collection is sequential), and a restarted gang reuses the port.
    /// </summary>
    internal static int RendezvousPort { get; } = FreePort();

    internal RunningOperator EnsureOperator() => Operator ??= Cluster.StartOperator(
        ChartRbacTests.ChartSettings() is var settings ? settings with { Controller = settings.Controller with { RendezvousPort = RendezvousPort } } : null!,
        Cluster.Server.IssueServiceAccountToken(ChartRbacTests.OperatorNamespace, ChartRbacTests.OperatorAccount));

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits for the predicate; a job that finishes without meeting it fails the wait at once.</summary>
    internal async Task<BiTJobStatus> WaitAsync(string name, Func<BiTJobStatus, bool> predicate, string what, int seconds = 120)
    {
        var status = await Cluster.WaitForJobAsync(JobKind.FineTune, name,
            s => predicate(s) || s.Phase is JobPhase.Succeeded or JobPhase.Failed, TimeSpan.FromSeconds(seconds), what);
        Assert.True(predicate(status), $"job {name} finished ({status.Phase}: {status.FindCondition("Failed")?.Message}) before {what}");
        return status;
    }
}
