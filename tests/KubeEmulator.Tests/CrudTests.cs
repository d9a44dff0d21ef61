using System.Net;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace KubeEmulator.Tests;

/// <summary>Core semantics through the real KubernetesClient: CRUD, conflicts, patches, selectors, paging.</summary>
public sealed class CrudTests(KubeEmulatorFixture fx) : IClassFixture<KubeEmulatorFixture>
{
    private readonly k8s.Kubernetes _client = fx.Server.CreateClient();

    [Fact]
    public async Task Create_get_update_delete_configmap_with_resource_versions()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "crud");
        var created = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm" }, Data = new Dictionary<string, string> { ["a"] = "1" } }, ns);
        Assert.False(string.IsNullOrEmpty(created.Metadata.Uid));
        Assert.NotNull(created.Metadata.CreationTimestamp);
        var got = await _client.CoreV1.ReadNamespacedConfigMapAsync("cm", ns);
        Assert.Equal(created.Metadata.ResourceVersion, got.Metadata.ResourceVersion);
        got.Data["b"] = "2";
        var updated = await _client.CoreV1.ReplaceNamespacedConfigMapAsync(got, "cm", ns);
        Assert.True(long.Parse(updated.Metadata.ResourceVersion) > long.Parse(created.Metadata.ResourceVersion));
        Assert.Equal("2", updated.Data["b"]);
        await _client.CoreV1.DeleteNamespacedConfigMapAsync("cm", ns);
        var e = await TestSupport.ApiErrorAsync(() => _client.CoreV1.ReadNamespacedConfigMapAsync("cm", ns));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
        Assert.Contains("configmaps \\\"cm\\\" not found", e.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stale_resource_version_is_409_conflict_and_duplicate_create_is_409_already_exists()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "conflict");
        var cm = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm" } }, ns);
        var stale = await _client.CoreV1.ReadNamespacedConfigMapAsync("cm", ns);
        cm.Data = new Dictionary<string, string> { ["x"] = "1" };
        await _client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, "cm", ns);
        stale.Data = new Dictionary<string, string> { ["x"] = "2" };
        var conflict = await TestSupport.ApiErrorAsync(() => _client.CoreV1.ReplaceNamespacedConfigMapAsync(stale, "cm", ns));
        Assert.Equal(HttpStatusCode.Conflict, conflict.Response.StatusCode);
        Assert.Contains("the object has been modified", conflict.Response.Content, StringComparison.Ordinal);
        var exists = await TestSupport.ApiErrorAsync(() => _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm" } }, ns));
        Assert.Equal(HttpStatusCode.Conflict, exists.Response.StatusCode);
        Assert.Contains("\"reason\":\"AlreadyExists\"", exists.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateName_and_missing_namespace()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "gen");
        var a = await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { GenerateName = "s-" }, StringData = new Dictionary<string, string> { ["k"] = "v" } }, ns);
        var b = await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { GenerateName = "s-" } }, ns);
        Assert.StartsWith("s-", a.Metadata.Name, StringComparison.Ordinal);
        Assert.NotEqual(a.Metadata.Name, b.Metadata.Name);
        Assert.Equal("v", System.Text.Encoding.UTF8.GetString(a.Data["k"]));
        var e = await TestSupport.ApiErrorAsync(() => _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "x" } }, "no-such-ns"));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
    }

    [Fact]
    public async Task Merge_json_and_strategic_patches_on_a_pod()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "patch");
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "p", Labels = new Dictionary<string, string> { ["a"] = "1" } },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "main", Image = "busybox:1", Env = [new V1EnvVar { Name = "A", Value = "1" }] }, new V1Container { Name = "side", Image = "busybox:1" }] },
        };
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await _client.CoreV1.PatchNamespacedPodAsync(new V1Patch("{\"metadata\":{\"labels\":{\"b\":\"2\",\"a\":null}}}", V1Patch.PatchType.MergePatch), "p", ns);
        await _client.CoreV1.PatchNamespacedPodAsync(new V1Patch("[{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{\"x\":\"y\"}}]", V1Patch.PatchType.JsonPatch), "p", ns);
        // Strategic merge: the containers list merges by name, so "side" stays and main's image changes.
        var p = await _client.CoreV1.PatchNamespacedPodAsync(new V1Patch("{\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"busybox:2\"}]}}", V1Patch.PatchType.StrategicMergePatch), "p", ns);
        Assert.Equal(new Dictionary<string, string> { ["b"] = "2" }, p.Metadata.Labels);
        Assert.Equal("y", p.Metadata.Annotations["x"]);
        Assert.Equal(2, p.Spec.Containers.Count);
        Assert.Equal("busybox:2", p.Spec.Containers.Single(c => c.Name == "main").Image);
        Assert.Equal("A", p.Spec.Containers.Single(c => c.Name == "main").Env.Single().Name);
        Assert.Equal("Pending", p.Status.Phase);
        // Everything but images is immutable in a pod spec.
        var e = await TestSupport.ApiErrorAsync(() => _client.CoreV1.PatchNamespacedPodAsync(new V1Patch("{\"spec\":{\"restartPolicy\":\"Never\"}}", V1Patch.PatchType.MergePatch), "p", ns));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains("pod updates may not change fields", e.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Label_and_field_selectors_and_limit_continue()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "sel");
        for (var i = 0; i < 7; i++)
        {
            await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"cm{i}", Labels = new Dictionary<string, string> { ["parity"] = i % 2 == 0 ? "even" : "odd", ["i"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) } } }, ns);
        }
        var even = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: "parity=even");
        Assert.Equal(["cm0", "cm2", "cm4", "cm6"], even.Items.Select(c => c.Metadata.Name));
        var set = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: "i in (1,3),parity!=even");
        Assert.Equal(["cm1", "cm3"], set.Items.Select(c => c.Metadata.Name));
        var byName = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, fieldSelector: "metadata.name=cm5");
        Assert.Equal("cm5", byName.Items.Single().Metadata.Name);
        var names = new List<string>();
        string? cont = null;
        var pages = 0;
        do
        {
            var page = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 3, continueParameter: cont);
            names.AddRange(page.Items.Select(c => c.Metadata.Name));
            cont = page.Metadata.ContinueProperty;
            pages++;
        }
        while (!string.IsNullOrEmpty(cont));
        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"cm{i}"), names.Where(n => n.StartsWith("cm", StringComparison.Ordinal)));
        var bad = await TestSupport.ApiErrorAsync(() => _client.CoreV1.ListNamespacedConfigMapAsync(ns, fieldSelector: "data.x=1"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.Response.StatusCode);
    }

    [Fact]
    public async Task Pod_field_selector_on_phase_and_leases_roundtrip()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "fs");
        await _client.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = new V1ObjectMeta { Name = "a" }, Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "i:1" }] } }, ns);
        var pending = await _client.CoreV1.ListNamespacedPodAsync(ns, fieldSelector: "status.phase=Pending");
        Assert.Single(pending.Items);
        var running = await _client.CoreV1.ListNamespacedPodAsync(ns, fieldSelector: "status.phase=Running");
        Assert.Empty(running.Items);
        var lease = await _client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease { Metadata = new V1ObjectMeta { Name = "leader" }, Spec = new V1LeaseSpec { HolderIdentity = "me", LeaseDurationSeconds = 15 } }, ns);
        lease.Spec.HolderIdentity = "you";
        var replaced = await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "leader", ns);
        Assert.Equal("you", replaced.Spec.HolderIdentity);
    }

    [Fact]
    public async Task Finalizers_hold_deletion_until_removed()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "fin");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm", Finalizers = ["example.com/hold"] } }, ns);
        await _client.CoreV1.DeleteNamespacedConfigMapAsync("cm", ns);
        var held = await _client.CoreV1.ReadNamespacedConfigMapAsync("cm", ns);
        Assert.NotNull(held.Metadata.DeletionTimestamp);
        var e = await TestSupport.ApiErrorAsync(() => _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"metadata\":{\"finalizers\":[\"example.com/hold\",\"example.com/new\"]}}", V1Patch.PatchType.MergePatch), "cm", ns));
        Assert.Equal(422, (int)e.Response.StatusCode);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"metadata\":{\"finalizers\":null}}", V1Patch.PatchType.MergePatch), "cm", ns);
        Assert.True(await TestSupport.GoneAsync(() => _client.CoreV1.ReadNamespacedConfigMapAsync("cm", ns)));
    }

    [Fact]
    public async Task Unchanged_update_writes_nothing()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "noop");
        var cm = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm" }, Data = new Dictionary<string, string> { ["a"] = "1" } }, ns);
        var again = await _client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, "cm", ns);
        Assert.Equal(cm.Metadata.ResourceVersion, again.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task Namespace_deletion_removes_its_content()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "nsdel");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm" } }, ns);
        await _client.CoreV1.DeleteNamespaceAsync(ns);
        Assert.True(await TestSupport.GoneAsync(() => _client.CoreV1.ReadNamespaceAsync(ns)));
        Assert.Empty((await _client.CoreV1.ListConfigMapForAllNamespacesAsync(fieldSelector: $"metadata.namespace={ns}")).Items);
    }

    [Fact]
    public async Task Discovery_lists_builtins_and_version()
    {
        var version = await _client.Version.GetCodeAsync();
        Assert.Equal("1", version.Major);
        var groups = await _client.Apis.GetAPIVersionsAsync();
        Assert.Contains(groups.Groups, g => g.Name == "rbac.authorization.k8s.io");
        Assert.Contains(groups.Groups, g => g.Name == "coordination.k8s.io");
        var core = await _client.CoreV1.GetAPIResourcesAsync();
        Assert.Contains(core.Resources, r => r.Name == "pods/status");
        Assert.Contains(core.Resources, r => r.Name == "persistentvolumeclaims" && r.ShortNames.Contains("pvc"));
        _ = JsonSerializer.Serialize(core);
    }
}
