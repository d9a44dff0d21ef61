using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Tests.Controllers;
using k8s;
using k8s.Models;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// A job named with the longest name the schema allows (237 characters) gets every object it owns, each within the
/// API's limits: the plan ConfigMap (the longest derived name, 253), claim, account, role, binding, pods, a gang's
/// headless Service (a 63-character DNS label) and its Events; not one request is answered 422; and it runs to
/// Succeeded. One job of one pod with a new checkpoint claim, one of two workers.
/// </summary>
public sealed class LongNameEndToEndTests
{
    [Fact]
    public async Task Jobs_with_237_character_names_get_every_owned_object_and_succeed_without_a_422()
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        await using var op = cluster.StartOperator();
        var single = Name('a');
        var gang = Name('g');
        Assert.Equal((237, 237), (single.Length, gang.Length));

        var spec = ContractsJobPlannerTests.RealSpec();
        spec["checkpoint"] = new JsonObject { ["everySteps"] = 5, ["volume"] = new JsonObject { ["size"] = "1Gi" } };
        var singleUid = (await cluster.CreateJobAsync(JobKind.FineTune, single, spec)).Metadata.Uid;
        var gangSpec = ContractsJobPlannerTests.RealSpec();
        gangSpec["resources"] = new JsonObject { ["workers"] = 2 };
        var gangUid = (await cluster.CreateJobAsync(JobKind.FineTune, gang, gangSpec)).Metadata.Uid;

        // The pods, then play the kubelet: each runs and succeeds with the trainer's result.
        await TestCluster.WaitUntilAsync(async () => (await cluster.PodsAsync()).Count >= 3, TimeSpan.FromSeconds(60), "three pods (one, and a gang of two)");
        foreach (var pod in await cluster.PodsAsync())
        {
            await PatchPodAsync(cluster, pod.Metadata.Name, "Running", null);
        }

        await cluster.WaitForJobAsync(JobKind.FineTune, single, s => s.Phase == JobPhase.Running, TimeSpan.FromSeconds(60), "the single job Running");
        await cluster.WaitForJobAsync(JobKind.FineTune, gang, s => s.Phase == JobPhase.Running, TimeSpan.FromSeconds(60), "the gang Running");
        foreach (var pod in await cluster.PodsAsync())
        {
            await PatchPodAsync(cluster, pod.Metadata.Name, "Succeeded", """{"top1":0.5,"modelPath":"/checkpoints/final/model.npz","steps":20}""");
        }

        var singleStatus = await cluster.WaitForJobAsync(JobKind.FineTune, single, s => s.Phase == JobPhase.Succeeded, TimeSpan.FromSeconds(60), "the single job Succeeded");
        var gangStatus = await cluster.WaitForJobAsync(JobKind.FineTune, gang, s => s.Phase == JobPhase.Succeeded, TimeSpan.FromSeconds(60), "the gang Succeeded");
        Assert.Equal((0.5, 0.5), (singleStatus.Result?.Top1 ?? -1, gangStatus.Result?.Top1 ?? -1));

        // Every object each job owns, by kind.
        var owned = await OwnedAsync(cluster);
        string Kinds(string uid) => string.Join(",", owned.Where(o => o.Owner == uid).Select(o => o.Kind).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal("ConfigMap,PersistentVolumeClaim,Pod,Role,RoleBinding,ServiceAccount", Kinds(singleUid));
        Assert.Equal("ConfigMap,Pod,Role,RoleBinding,Service,ServiceAccount", Kinds(gangUid));
        Assert.All(owned, o => Assert.InRange(o.Name.Length, 1, 253));
        Assert.All(owned.Where(o => o.Kind == "Service"), o => Assert.InRange(o.Name.Length, 1, 63));
        Assert.Contains(owned, o => o.Owner == singleUid && o.Kind == "ConfigMap" && o.Name.StartsWith(single + "-plan-", StringComparison.Ordinal));
        Assert.Contains(owned, o => o.Owner == singleUid && o.Name == single + "-run-1");

        // Events about each job (names within 253), Normal ones only.
        var events = (await cluster.Admin.CoreV1.ListNamespacedEventAsync(TestCluster.Namespace)).Items;
        foreach (var job in new[] { single, gang })
        {
            var about = events.Where(e => e.InvolvedObject?.Name == job).ToList();
            Assert.True(about.Count > 0, $"no Event about {job[..8]}...");
            Assert.All(about, e => Assert.InRange(e.Metadata.Name.Length, 1, 253));
            Assert.All(about, e => Assert.Equal("Normal", e.Type));
        }

        // No request of anyone's was refused as invalid (a derived name or label too long would be a 422).
        var invalid = cluster.Server.Requests.Snapshot().Where(r => r.StatusCode == 422).ToList();
        Assert.True(invalid.Count == 0, string.Join("\n", invalid.Select(r => $"{r.Verb} {r.ResourceKey} {r.Name}")));
    }

    private static string Name(char fill) => fill + "-" + new string(fill, 233) + "-z";

    private static async Task<List<(string Kind, string Name, string? Owner)>> OwnedAsync(TestCluster cluster)
    {
        var ns = TestCluster.Namespace;
        var all = new List<(string Kind, IEnumerable<V1ObjectMeta> Items)>
        {
            ("ConfigMap", (await cluster.Admin.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Select(i => i.Metadata)),
            ("PersistentVolumeClaim", (await cluster.Admin.CoreV1.ListNamespacedPersistentVolumeClaimAsync(ns)).Items.Select(i => i.Metadata)),
            ("Pod", (await cluster.Admin.CoreV1.ListNamespacedPodAsync(ns)).Items.Select(i => i.Metadata)),
            ("Service", (await cluster.Admin.CoreV1.ListNamespacedServiceAsync(ns)).Items.Select(i => i.Metadata)),
            ("ServiceAccount", (await cluster.Admin.CoreV1.ListNamespacedServiceAccountAsync(ns)).Items.Select(i => i.Metadata)),
            ("Role", (await cluster.Admin.RbacAuthorizationV1.ListNamespacedRoleAsync(ns)).Items.Select(i => i.Metadata)),
            ("RoleBinding", (await cluster.Admin.RbacAuthorizationV1.ListNamespacedRoleBindingAsync(ns)).Items.Select(i => i.Metadata)),
        };
        return [.. all.SelectMany(k => k.Items
            .Where(m => m.OwnerReferences?.Any(o => o.Kind == JobKind.FineTune.Kind) == true)
            .Select(m => (k.Kind, m.Name, (string?)m.OwnerReferences!.First(o => o.Kind == JobKind.FineTune.Kind).Uid)))];
    }

    private static async Task PatchPodAsync(TestCluster cluster, string pod, string phase, string? result)
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
