using System.Net;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Operator.Api;
using BiT.Operator.Hosting;
using BiT.Operator.Runtime;
using BiT.Operator.Tests.Controllers;
using k8s;
using k8s.Autorest;
using k8s.Models;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// The operator under the ServiceAccount and the exact RBAC rules the Helm chart ships, with RBAC enforced; and
/// the trainer's per-job Role limited to its own job's status.
/// </summary>
public sealed class ChartRbacTests
{
    internal const string OperatorNamespace = "bit-system";
    internal const string OperatorAccount = "bit-operator";

    /// <summary>A rules file of the chart as the ClusterRole or Role it becomes.</summary>
    internal static string RoleYaml(string kind, string name, string rulesFile, string? ns = null)
    {
        var rules = File.ReadAllLines(Path.Combine(RepoPaths.Chart, "files", rulesFile))
            .Where(l => !l.TrimStart().StartsWith('#') && l.Trim().Length > 0)
            .Select(l => "  " + l);
        return $"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: {name}\n"
            + (ns is null ? "" : $"  namespace: {ns}\n")
            + "rules:\n" + string.Join("\n", rules) + "\n";
    }

    /// <summary>The chart's ServiceAccount, ClusterRole and leader-election Role, bound as the chart binds them.</summary>
    internal static async Task InstallChartRbacAsync(TestCluster cluster)
    {
        var admin = cluster.Admin;
        await admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = OperatorNamespace } });
        await admin.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = OperatorAccount } }, OperatorNamespace);
        var subject = new Rbacv1Subject { Kind = "ServiceAccount", Name = OperatorAccount, NamespaceProperty = OperatorNamespace };
        await admin.RbacAuthorizationV1.CreateClusterRoleAsync(KubernetesYaml.Deserialize<V1ClusterRole>(RoleYaml("ClusterRole", "bit-operator", "operator-rules.yaml")));
        await admin.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "bit-operator" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = "bit-operator" },
            Subjects = [subject],
        });
        await admin.RbacAuthorizationV1.CreateNamespacedRoleAsync(
            KubernetesYaml.Deserialize<V1Role>(RoleYaml("Role", "bit-operator-leader-election", "leader-election-rules.yaml", OperatorNamespace)), OperatorNamespace);
        await admin.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "bit-operator-leader-election", NamespaceProperty = OperatorNamespace },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "bit-operator-leader-election" },
            Subjects = [subject],
        }, OperatorNamespace);
    }

    /// <summary>The test settings with leader election where the chart's Role allows it.</summary>
    internal static OperatorSettings ChartSettings() => TestCluster.Settings() with
    {
        LeaderElection = new LeaderElectionSettings(OperatorNamespace, "bit-operator-leader", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(500)),
    };

    [Fact]
    public async Task The_operator_runs_a_job_under_the_charts_service_account_and_rules()
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        await InstallChartRbacAsync(cluster);
        var token = cluster.Server.IssueServiceAccountToken(OperatorNamespace, OperatorAccount);

        // The rules are enforced: this token cannot read secrets.
        using (var probe = cluster.Server.CreateClient(token))
        {
            var denied = await Assert.ThrowsAsync<HttpOperationException>(() => probe.CoreV1.ListNamespacedSecretAsync(TestCluster.Namespace));
            Assert.Equal(HttpStatusCode.Forbidden, denied.Response.StatusCode);
        }

        var settings = ChartSettings();
        await using var op = cluster.StartOperator(settings, token);
        var spec = ContractsJobPlannerTests.RealSpec();
        spec["checkpoint"] = new System.Text.Json.Nodes.JsonObject { ["everySteps"] = 5, ["volume"] = new System.Text.Json.Nodes.JsonObject { ["size"] = "1Gi" } };
        await cluster.CreateJobAsync(JobKind.FineTune, "pets", spec);
        var status = await cluster.WaitForJobAsync(JobKind.FineTune, "pets", s => s.PodName == "pets-run-1", TimeSpan.FromSeconds(30), "the pod under RBAC");
        Assert.True(status.IsConditionTrue(ConditionTypes.Validated));
        await cluster.Admin.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("pets-checkpoints", TestCluster.Namespace);
        await cluster.Admin.CoreV1.ReadNamespacedPodAsync("pets-run-1", TestCluster.Namespace);
        Assert.True(op.Host.IsLeader);
        Assert.True(cluster.Server.Requests.Count(user: $"system:serviceaccount:{OperatorNamespace}:{OperatorAccount}") > 0, "the operator used its token");
        Assert.DoesNotContain(cluster.Server.Requests.Snapshot(), r => r.StatusCode == 403 && r.User.Contains(OperatorAccount, StringComparison.Ordinal) && r.Resource != "secrets");

        // A bad spec's Event is written under the same rules.
        var bad = ContractsJobPlannerTests.RealSpec();
        bad["image"] = "evil.example/x:1";
        await cluster.CreateJobAsync(JobKind.FineTune, "bad", bad);
        await TestCluster.WaitUntilAsync(async () =>
            (await cluster.Admin.CoreV1.ListNamespacedEventAsync(TestCluster.Namespace)).Items.Any(e => e.InvolvedObject.Name == "bad"),
            TimeSpan.FromSeconds(30), "the event");
    }

    [Fact]
    public async Task The_trainers_role_lets_it_write_only_its_own_jobs_status()
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        await using var op = cluster.StartOperator();
        await cluster.CreateJobAsync(JobKind.FineTune, "mine", ContractsJobPlannerTests.RealSpec());
        await cluster.CreateJobAsync(JobKind.FineTune, "other", ContractsJobPlannerTests.RealSpec());
        await cluster.WaitForJobAsync(JobKind.FineTune, "mine", s => s.PodName is not null, TimeSpan.FromSeconds(30), "the pod");
        await cluster.WaitForJobAsync(JobKind.FineTune, "other", s => s.PodName is not null, TimeSpan.FromSeconds(30), "the pod");

        using var trainer = cluster.Server.CreateClient(cluster.Server.IssueServiceAccountToken(TestCluster.Namespace, "mine-trainer"));
        var progress = new V1Patch("""{"status":{"progress":{"step":3,"totalSteps":20}}}""", V1Patch.PatchType.MergePatch);
        await trainer.CustomObjects.PatchNamespacedCustomObjectStatusAsync(progress, ApiInfo.Group, ApiInfo.Version, TestCluster.Namespace, JobKind.FineTune.Plural, "mine");
        var denied = await Assert.ThrowsAsync<HttpOperationException>(() =>
            trainer.CustomObjects.PatchNamespacedCustomObjectStatusAsync(progress, ApiInfo.Group, ApiInfo.Version, TestCluster.Namespace, JobKind.FineTune.Plural, "other"));
        Assert.Equal(HttpStatusCode.Forbidden, denied.Response.StatusCode);
        var specDenied = await Assert.ThrowsAsync<HttpOperationException>(() =>
            trainer.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"spec":{"suspend":true}}""", V1Patch.PatchType.MergePatch), ApiInfo.Group, ApiInfo.Version, TestCluster.Namespace, JobKind.FineTune.Plural, "mine"));
        Assert.Equal(HttpStatusCode.Forbidden, specDenied.Response.StatusCode);
        var status = BiTJobStatus.FromJson((await cluster.GetJobAsync(JobKind.FineTune, "mine"))!.Status);
        Assert.Equal(3, status.Progress?.Step);
    }
}
