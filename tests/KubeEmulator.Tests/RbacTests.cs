using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace KubeEmulator.Tests;

/// <summary>Bearer-token authentication and RBAC enforced from stored Roles and Bindings.</summary>
public sealed class RbacTests(KubeEmulatorFixture fx) : IClassFixture<KubeEmulatorFixture>
{
    private readonly k8s.Kubernetes _admin = fx.Server.CreateClient();

    [Fact]
    public async Task Service_account_without_bindings_gets_the_standard_403()
    {
        var ns = await TestSupport.NewNamespaceAsync(_admin, "rbac");
        using var sa = fx.Server.CreateClient(fx.Server.IssueServiceAccountToken(ns, "worker"));
        var e = await TestSupport.ApiErrorAsync(() => sa.CoreV1.ListNamespacedPodAsync(ns));
        Assert.Equal(HttpStatusCode.Forbidden, e.Response.StatusCode);
        var status = JsonNode.Parse(e.Response.Content)!;
        Assert.Equal($"pods is forbidden: User \"system:serviceaccount:{ns}:worker\" cannot list resource \"pods\" in API group \"\" in the namespace \"{ns}\"", (string?)status["message"]);
        Assert.Equal("Forbidden", (string?)status["reason"]);
    }

    [Fact]
    public async Task Role_binding_grants_exactly_its_rules()
    {
        var ns = await TestSupport.NewNamespaceAsync(_admin, "rbac2");
        await _admin.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "cm-reader" },
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["configmaps"], Verbs = ["get", "list"] }, new V1PolicyRule { ApiGroups = [""], Resources = ["secrets"], Verbs = ["get"], ResourceNames = ["allowed"] }],
        }, ns);
        await _admin.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "b" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "cm-reader" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "reader", NamespaceProperty = ns }],
        }, ns);
        await _admin.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "allowed" } }, ns);
        await _admin.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "denied" } }, ns);
        using var sa = fx.Server.CreateClient(fx.Server.IssueServiceAccountToken(ns, "reader"));
        Assert.NotNull(await sa.CoreV1.ListNamespacedConfigMapAsync(ns));
        Assert.Equal("allowed", (await sa.CoreV1.ReadNamespacedSecretAsync("allowed", ns)).Metadata.Name);
        var denied = await TestSupport.ApiErrorAsync(() => sa.CoreV1.ReadNamespacedSecretAsync("denied", ns));
        Assert.Contains("secrets \\\"denied\\\" is forbidden", denied.Response.Content, StringComparison.Ordinal);
        var create = await TestSupport.ApiErrorAsync(() => sa.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "x" } }, ns));
        Assert.Equal(HttpStatusCode.Forbidden, create.Response.StatusCode);
        var otherNs = await TestSupport.ApiErrorAsync(() => sa.CoreV1.ListNamespacedConfigMapAsync("default"));
        Assert.Equal(HttpStatusCode.Forbidden, otherNs.Response.StatusCode);
        // Discovery is open to every authenticated user.
        Assert.NotEmpty((await sa.CoreV1.GetAPIResourcesAsync()).Resources);
    }

    [Fact]
    public async Task Cluster_role_binding_and_subresource_rules()
    {
        var ns = await TestSupport.NewNamespaceAsync(_admin, "rbac3");
        await TestSupport.InstallWidgetCrdAsync(_admin);
        await _admin.RbacAuthorizationV1.CreateClusterRoleAsync(new V1ClusterRole
        {
            Metadata = new V1ObjectMeta { Name = $"{ns}-status-writer" },
            Rules = [new V1PolicyRule { ApiGroups = ["example.com"], Resources = ["widgets"], Verbs = ["get", "list", "watch"] }, new V1PolicyRule { ApiGroups = ["example.com"], Resources = ["widgets/status"], Verbs = ["patch"] }],
        });
        await _admin.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
        {
            Metadata = new V1ObjectMeta { Name = $"{ns}-status-writer" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = $"{ns}-status-writer" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "op", NamespaceProperty = ns }],
        });
        await _admin.CustomObjects.CreateNamespacedCustomObjectAsync(TestSupport.Widget("w", 1), TestSupport.Group, "v1", ns, TestSupport.Plural);
        using var sa = fx.Server.CreateClient(fx.Server.IssueServiceAccountToken(ns, "op"));
        await sa.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch("{\"status\":{\"phase\":\"Done\"}}", V1Patch.PatchType.MergePatch), TestSupport.Group, "v1", ns, TestSupport.Plural, "w");
        var e = await TestSupport.ApiErrorAsync(() => sa.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("{\"spec\":{\"size\":2}}", V1Patch.PatchType.MergePatch), TestSupport.Group, "v1", ns, TestSupport.Plural, "w"));
        Assert.Contains("cannot patch resource \\\"widgets\\\" in API group \\\"example.com\\\"", e.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_or_unknown_token_is_401()
    {
        using var bad = fx.Server.CreateClient("not-a-token");
        var e = await TestSupport.ApiErrorAsync(() => bad.CoreV1.ListNamespaceAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, e.Response.StatusCode);
    }

    [Fact]
    public async Task Self_subject_access_review_answers_from_rbac()
    {
        var ns = await TestSupport.NewNamespaceAsync(_admin, "ssar");
        using var sa = fx.Server.CreateClient(fx.Server.IssueServiceAccountToken(ns, "nobody"));
        var review = await sa.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(new V1SelfSubjectAccessReview { Spec = new V1SelfSubjectAccessReviewSpec { ResourceAttributes = new V1ResourceAttributes { Verb = "list", Resource = "pods", NamespaceProperty = ns } } });
        Assert.False(review.Status.Allowed);
        var adminReview = await _admin.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(new V1SelfSubjectAccessReview { Spec = new V1SelfSubjectAccessReviewSpec { ResourceAttributes = new V1ResourceAttributes { Verb = "list", Resource = "pods", NamespaceProperty = ns } } });
        Assert.True(adminReview.Status.Allowed);
    }
}
