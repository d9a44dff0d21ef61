using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Tests.Controllers;
using k8s;
using k8s.Models;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// Two faults from issue 12's list that had no standing test: a trainer pod deleted by someone while it runs, and
/// the operator process started with a metrics port already in use.
/// </summary>
public sealed class OperatorFaultEndToEndTests
{
    [Fact]
    public async Task A_running_trainer_pod_deleted_is_one_restart_as_PodDeleted_and_the_job_succeeds_on_the_next_pod()
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        await using var op = cluster.StartOperator();
        var spec = ContractsJobPlannerTests.RealSpec();
        spec["runPolicy"] = new JsonObject { ["backoffSeconds"] = 1, ["maxRestarts"] = 3 };
        await cluster.CreateJobAsync(JobKind.FineTune, "deleted", spec);
        await TestCluster.WaitUntilAsync(async () => (await cluster.PodsAsync()).Any(p => p.Metadata.Name == "deleted-run-1"), TimeSpan.FromSeconds(60), "the first pod");
        await PatchAsync(cluster, "deleted-run-1", "Running", null);
        await cluster.WaitForJobAsync(JobKind.FineTune, "deleted", s => s.Phase == JobPhase.Running, TimeSpan.FromSeconds(60), "Running");

        await cluster.Admin.CoreV1.DeleteNamespacedPodAsync("deleted-run-1", TestCluster.Namespace, new V1DeleteOptions { GracePeriodSeconds = 0 });

        var restarted = await cluster.WaitForJobAsync(JobKind.FineTune, "deleted", s => s.PodName == "deleted-run-2", TimeSpan.FromSeconds(60), "the next attempt");
        Assert.Equal(1, restarted.Restarts);
        var entry = Assert.Single(restarted.RestartHistory!);
        Assert.Equal(("PodDeleted", "deleted-run-1"), (entry.Reason, entry.PodName));
        Assert.NotEqual(JobPhase.Failed, restarted.Phase);

        await TestCluster.WaitUntilAsync(async () => (await cluster.PodsAsync()).Any(p => p.Metadata.Name == "deleted-run-2"), TimeSpan.FromSeconds(60), "the second pod");
        await PatchAsync(cluster, "deleted-run-2", "Running", null);
        await PatchAsync(cluster, "deleted-run-2", "Succeeded", """{"top1":0.5,"modelPath":"/checkpoints/final/model.npz","steps":20}""");
        var done = await cluster.WaitForJobAsync(JobKind.FineTune, "deleted", s => s.Phase == JobPhase.Succeeded, TimeSpan.FromSeconds(60), "Succeeded");
        Assert.Equal((1, "deleted-run-2", 0.5), (done.Restarts, done.PodName, done.Result?.Top1 ?? -1));
        Assert.Equal(["deleted-run-2"], (await cluster.PodsAsync()).Select(p => p.Metadata.Name));
    }

    [Fact]
    public async Task The_operator_process_with_its_metrics_port_in_use_exits_2_with_one_line()
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        var dir = Directory.CreateTempSubdirectory("bit-op-port-").FullName;
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        try
        {
            var kubeconfig = cluster.Server.WriteKubeconfig(Path.Combine(dir, "kubeconfig"));
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[]
            {
                Path.Combine(AppContext.BaseDirectory, "bit-operator.dll"), "run", "--kubeconfig", kubeconfig, "--namespace", TestCluster.Namespace,
                "--leader-elect", "false", "--trainer-image", TestCluster.TrainerImage, "--metrics-bind-address", "127.0.0.1", "--metrics-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            })
            {
                psi.ArgumentList.Add(a);
            }

            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            try
            {
                await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
            finally
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                }
            }

            var error = (await stderr).Trim();
            Assert.True(p.ExitCode == 2, $"exit {p.ExitCode}: {await stdout}{error}");
            var last = error.Split('\n')[^1];
            Assert.StartsWith($"bit-operator: cannot listen on 127.0.0.1:{port}", last, StringComparison.Ordinal);
            Assert.Contains("--metrics-port", last, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
            Assert.DoesNotContain("SocketException", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task PatchAsync(TestCluster cluster, string pod, string phase, string? result)
    {
        var now = KubeTimeJsonConverter.ToWire(DateTimeOffset.UtcNow);
        var state = result is null
            ? new JsonObject { ["running"] = new JsonObject { ["startedAt"] = now } }
            : new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = 0, ["reason"] = "Completed", ["message"] = result, ["finishedAt"] = now } };
        var body = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["phase"] = phase,
                ["startTime"] = now,
                ["containerStatuses"] = new JsonArray(new JsonObject
                {
                    ["name"] = "trainer", ["image"] = TestCluster.TrainerImage, ["imageID"] = "", ["ready"] = result is null, ["restartCount"] = 0,
                    ["state"] = state,
                }),
            },
        };
        await cluster.Admin.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch), pod, TestCluster.Namespace);
    }
}
