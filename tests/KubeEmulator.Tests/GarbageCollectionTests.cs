using k8s;
using k8s.Models;

namespace KubeEmulator.Tests;

/// <summary>ownerReference garbage collection: background, foreground and orphan propagation.</summary>
public sealed class GarbageCollectionTests(KubeEmulatorFixture fx) : IClassFixture<KubeEmulatorFixture>
{
    private readonly k8s.Kubernetes _client = fx.Server.CreateClient();

    private async Task<(string Ns, V1ConfigMap Owner)> OwnerWithDependentsAsync(string prefix)
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, prefix);
        var owner = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "owner" } }, ns);
        var ownerRef = new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = owner.Metadata.Uid, BlockOwnerDeletion = true };
        for (var i = 0; i < 2; i++)
        {
            await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = $"dep{i}", OwnerReferences = [ownerRef] } }, ns);
        }
        return (ns, owner);
    }

    [Fact]
    public async Task Background_deletion_collects_dependents()
    {
        var (ns, _) = await OwnerWithDependentsAsync("gcbg");
        await _client.CoreV1.DeleteNamespacedConfigMapAsync("owner", ns, propagationPolicy: "Background");
        Assert.True(await TestSupport.EventuallyAsync(async () => (await _client.CoreV1.ListNamespacedSecretAsync(ns)).Items.Count == 0));
    }

    [Fact]
    public async Task Foreground_deletion_removes_dependents_before_the_owner()
    {
        var (ns, _) = await OwnerWithDependentsAsync("gcfg");
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "held", Finalizers = ["example.com/hold"], OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = (await _client.CoreV1.ReadNamespacedConfigMapAsync("owner", ns)).Metadata.Uid }] } }, ns);
        await _client.CoreV1.DeleteNamespacedConfigMapAsync("owner", ns, propagationPolicy: "Foreground");
        // While a dependent is held by its finalizer, the owner waits with deletionTimestamp and foregroundDeletion.
        Assert.True(await TestSupport.EventuallyAsync(async () => (await _client.CoreV1.ListNamespacedSecretAsync(ns)).Items.Count == 1));
        var owner = await _client.CoreV1.ReadNamespacedConfigMapAsync("owner", ns);
        Assert.NotNull(owner.Metadata.DeletionTimestamp);
        Assert.Contains("foregroundDeletion", owner.Metadata.Finalizers);
        await _client.CoreV1.PatchNamespacedSecretAsync(new V1Patch("{\"metadata\":{\"finalizers\":null}}", V1Patch.PatchType.MergePatch), "held", ns);
        Assert.True(await TestSupport.GoneAsync(() => _client.CoreV1.ReadNamespacedConfigMapAsync("owner", ns)));
        Assert.Empty((await _client.CoreV1.ListNamespacedSecretAsync(ns)).Items);
    }

    [Fact]
    public async Task Orphan_deletion_keeps_dependents_without_the_owner_reference()
    {
        var (ns, _) = await OwnerWithDependentsAsync("gcor");
        await _client.CoreV1.DeleteNamespacedConfigMapAsync("owner", ns, propagationPolicy: "Orphan");
        Assert.True(await TestSupport.GoneAsync(() => _client.CoreV1.ReadNamespacedConfigMapAsync("owner", ns)));
        var deps = (await _client.CoreV1.ListNamespacedSecretAsync(ns)).Items;
        Assert.Equal(2, deps.Count);
        Assert.All(deps, d => Assert.True(d.Metadata.OwnerReferences is null || d.Metadata.OwnerReferences.Count == 0));
    }

    [Fact]
    public async Task Custom_resource_owner_cascades_to_pods()
    {
        await TestSupport.InstallWidgetCrdAsync(_client);
        var ns = await TestSupport.NewNamespaceAsync(_client, "gccr");
        var w = (System.Text.Json.JsonElement)await _client.CustomObjects.CreateNamespacedCustomObjectAsync(TestSupport.Widget("w", 1), TestSupport.Group, "v1", ns, TestSupport.Plural);
        var uid = w.GetProperty("metadata").GetProperty("uid").GetString();
        await _client.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = new V1ObjectMeta { Name = "p", OwnerReferences = [new V1OwnerReference { ApiVersion = "example.com/v1", Kind = "Widget", Name = "w", Uid = uid, Controller = true }] }, Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "i:1" }] } }, ns);
        await _client.CustomObjects.DeleteNamespacedCustomObjectAsync(TestSupport.Group, "v1", ns, TestSupport.Plural, "w");
        Assert.True(await TestSupport.GoneAsync(() => _client.CoreV1.ReadNamespacedPodAsync("p", ns)));
    }
}
