using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace KubeEmulator.Tests;

/// <summary>CRDs: serving, schema validation (422 with causes), pruning, defaults, status subresource, generation, tables, SSA.</summary>
public sealed class CustomResourceTests(KubeEmulatorFixture fx) : IClassFixture<KubeEmulatorFixture>, IAsyncLifetime
{
    private readonly k8s.Kubernetes _client = fx.Server.CreateClient();

    public Task InitializeAsync() => TestSupport.InstallWidgetCrdAsync(_client);

    public Task DisposeAsync() => Task.CompletedTask;

    private static JsonObject AsJson(object o) => JsonNode.Parse(JsonSerializer.Serialize(o))!.AsObject();

    [Fact]
    public async Task Crd_becomes_established_and_is_discoverable()
    {
        var crd = await _client.ApiextensionsV1.ReadCustomResourceDefinitionAsync("widgets.example.com");
        Assert.Contains(crd.Status.Conditions, c => c.Type == "Established" && c.Status == "True");
        var resources = (await RawHttp.SendAsync(fx.Server, HttpMethod.Get, "/apis/example.com/v1")).Body!;
        var widgets = resources["resources"]!.AsArray().Single(r => (string?)r!["name"] == "widgets")!;
        Assert.Equal("wd", (string?)widgets["shortNames"]![0]);
        Assert.Equal("all", (string?)widgets["categories"]![0]);
        Assert.Contains(resources["resources"]!.AsArray(), r => (string?)r!["name"] == "widgets/status");
    }

    [Fact]
    public async Task Schema_violations_are_422_with_a_cause_per_field()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "schema");
        var bad = TestSupport.Widget("bad", 0);
        ((Dictionary<string, object>)bad["spec"])["color"] = "green";
        ((Dictionary<string, object>)bad["spec"])["name"] = "TOOLONGNAME";
        ((Dictionary<string, object>)bad["spec"])["tags"] = new[] { "a", "b", "c" };
        var e = await TestSupport.ApiErrorAsync(() => _client.CustomObjects.CreateNamespacedCustomObjectAsync(bad, TestSupport.Group, "v1", ns, TestSupport.Plural));
        Assert.Equal(422, (int)e.Response.StatusCode);
        var status = JsonNode.Parse(e.Response.Content)!;
        Assert.Equal("Invalid", (string?)status["reason"]);
        var fields = status["details"]!["causes"]!.AsArray().Select(c => (string?)c!["field"]).ToList();
        Assert.Contains("spec.size", fields);
        Assert.Contains("spec.color", fields);
        Assert.Contains("spec.name", fields);
        Assert.Contains("spec.tags", fields);
        Assert.Contains("should be greater than or equal to 1", (string?)status["message"], StringComparison.Ordinal);
        var missing = new Dictionary<string, object> { ["apiVersion"] = "example.com/v1", ["kind"] = "Widget", ["metadata"] = new Dictionary<string, object> { ["name"] = "m" }, ["spec"] = new Dictionary<string, object>() };
        var e2 = await TestSupport.ApiErrorAsync(() => _client.CustomObjects.CreateNamespacedCustomObjectAsync(missing, TestSupport.Group, "v1", ns, TestSupport.Plural));
        Assert.Contains("spec.size: Required value", e2.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_fields_are_pruned_defaults_applied_and_preserved_fields_kept()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "prune");
        var w = TestSupport.Widget("w", 2);
        ((Dictionary<string, object>)w["spec"])["unknown"] = "x";
        ((Dictionary<string, object>)w["spec"])["extra"] = new Dictionary<string, object> { ["anything"] = 1 };
        var created = AsJson(await _client.CustomObjects.CreateNamespacedCustomObjectAsync(w, TestSupport.Group, "v1", ns, TestSupport.Plural));
        Assert.Null(created["spec"]!["unknown"]);
        Assert.Equal("red", (string?)created["spec"]!["color"]);
        Assert.Equal(1, (int?)created["spec"]!["extra"]!["anything"]);
    }

    [Fact]
    public async Task Status_subresource_separates_spec_and_status_and_generation_counts_spec_changes()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "status");
        var w = TestSupport.Widget("w", 2);
        w["status"] = new Dictionary<string, object> { ["phase"] = "ignored-on-create" };
        var created = AsJson(await _client.CustomObjects.CreateNamespacedCustomObjectAsync(w, TestSupport.Group, "v1", ns, TestSupport.Plural));
        Assert.Null(created["status"]);
        Assert.Equal(1, (long?)created["metadata"]!["generation"]);
        // The main endpoint ignores status.
        var p1 = AsJson(await _client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("{\"status\":{\"phase\":\"X\"},\"metadata\":{\"labels\":{\"l\":\"1\"}}}", V1Patch.PatchType.MergePatch), TestSupport.Group, "v1", ns, TestSupport.Plural, "w"));
        Assert.Null(p1["status"]);
        Assert.Equal(1, (long?)p1["metadata"]!["generation"]);
        // /status ignores everything else and does not bump generation.
        var p2 = AsJson(await _client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch("{\"status\":{\"phase\":\"Running\"},\"spec\":{\"size\":9}}", V1Patch.PatchType.MergePatch), TestSupport.Group, "v1", ns, TestSupport.Plural, "w"));
        Assert.Equal("Running", (string?)p2["status"]!["phase"]);
        Assert.Equal(2, (int?)p2["spec"]!["size"]);
        Assert.Equal(1, (long?)p2["metadata"]!["generation"]);
        var p3 = AsJson(await _client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("{\"spec\":{\"size\":3}}", V1Patch.PatchType.MergePatch), TestSupport.Group, "v1", ns, TestSupport.Plural, "w"));
        Assert.Equal(2, (long?)p3["metadata"]!["generation"]);
        Assert.Equal("Running", (string?)p3["status"]!["phase"]);
    }

    [Fact]
    public async Task List_map_keys_must_be_unique()
    {
        var yaml = TestSupport.WidgetCrdYaml.Replace("widgets", "gizmos", StringComparison.Ordinal).Replace("Widget", "Gizmo", StringComparison.Ordinal).Replace("widget", "gizmo", StringComparison.Ordinal).Replace("[wd]", "[gz]", StringComparison.Ordinal)
            .Replace("                type: array\n", "                type: array\n                x-kubernetes-list-type: map\n                x-kubernetes-list-map-keys: [type]\n", StringComparison.Ordinal);
        Assert.Contains("x-kubernetes-list-type: map", yaml, StringComparison.Ordinal);
        await _client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(KubernetesYaml.Deserialize<V1CustomResourceDefinition>(yaml));
        var ns = await TestSupport.NewNamespaceAsync(_client, "listmap");
        var g = TestSupport.Widget("g", 1);
        g["kind"] = "Gizmo";
        await _client.CustomObjects.CreateNamespacedCustomObjectAsync(g, TestSupport.Group, "v1", ns, "gizmos");
        var e = await TestSupport.ApiErrorAsync(() => _client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch("{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"False\"}]}}", V1Patch.PatchType.MergePatch), TestSupport.Group, "v1", ns, "gizmos", "g"));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains("status.conditions[1]: Duplicate value", e.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_of_a_custom_resource_needs_a_resource_version()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "putrv");
        await _client.CustomObjects.CreateNamespacedCustomObjectAsync(TestSupport.Widget("w", 2), TestSupport.Group, "v1", ns, TestSupport.Plural);
        var e = await TestSupport.ApiErrorAsync(() => _client.CustomObjects.ReplaceNamespacedCustomObjectAsync(TestSupport.Widget("w", 3), TestSupport.Group, "v1", ns, TestSupport.Plural, "w"));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains("metadata.resourceVersion: Invalid value: 0x0: must be specified for an update", e.Response.Content, StringComparison.Ordinal);
        var current = AsJson(await _client.CustomObjects.GetNamespacedCustomObjectAsync(TestSupport.Group, "v1", ns, TestSupport.Plural, "w"));
        current["spec"]!["size"] = 3;
        var replaced = AsJson(await _client.CustomObjects.ReplaceNamespacedCustomObjectAsync(current, TestSupport.Group, "v1", ns, TestSupport.Plural, "w"));
        Assert.Equal(3, (int?)replaced["spec"]!["size"]);
    }

    [Fact]
    public async Task Strategic_merge_patch_is_415_for_custom_resources()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "smp");
        await _client.CustomObjects.CreateNamespacedCustomObjectAsync(TestSupport.Widget("w", 2), TestSupport.Group, "v1", ns, TestSupport.Plural);
        var e = await TestSupport.ApiErrorAsync(() => _client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("{\"spec\":{\"size\":3}}", V1Patch.PatchType.StrategicMergePatch), TestSupport.Group, "v1", ns, TestSupport.Plural, "w"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, e.Response.StatusCode);
    }

    [Fact]
    public async Task Server_side_apply_owns_fields_and_reports_conflicts()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "ssa");
        var config = "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\",\"labels\":{\"a\":\"1\"}},\"spec\":{\"size\":2,\"name\":\"abc\"}}";
        var created = AsJson(await _client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(config, V1Patch.PatchType.ApplyPatch), TestSupport.Group, "v1", ns, TestSupport.Plural, "w", fieldManager: "alice"));
        Assert.Equal(2, (int?)created["spec"]!["size"]);
        Assert.Contains(created["metadata"]!["managedFields"]!.AsArray(), m => (string?)m!["manager"] == "alice" && (string?)m["operation"] == "Apply");
        // Bob takes spec.size with a different value: conflict unless forced.
        var bob = "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"},\"spec\":{\"size\":5}}";
        var e = await TestSupport.ApiErrorAsync(() => _client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(bob, V1Patch.PatchType.ApplyPatch), TestSupport.Group, "v1", ns, TestSupport.Plural, "w", fieldManager: "bob"));
        Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
        Assert.Contains(".spec.size", e.Response.Content, StringComparison.Ordinal);
        var forced = AsJson(await _client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(bob, V1Patch.PatchType.ApplyPatch), TestSupport.Group, "v1", ns, TestSupport.Plural, "w", fieldManager: "bob", force: true));
        Assert.Equal(5, (int?)forced["spec"]!["size"]);
        // Alice stops applying spec.name: it is removed (she was its only owner); spec.size now belongs to bob and stays.
        var alice2 = "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\",\"labels\":{\"a\":\"1\"}},\"spec\":{}}";
        var after = AsJson(await _client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch(alice2, V1Patch.PatchType.ApplyPatch), TestSupport.Group, "v1", ns, TestSupport.Plural, "w", fieldManager: "alice"));
        Assert.Null(after["spec"]!["name"]);
        Assert.Equal(5, (int?)after["spec"]!["size"]);
    }

    [Fact]
    public async Task Table_responses_carry_the_printer_columns()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "table");
        await _client.CustomObjects.CreateNamespacedCustomObjectAsync(TestSupport.Widget("w", 4), TestSupport.Group, "v1", ns, TestSupport.Plural);
        await _client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch("{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}", V1Patch.PatchType.MergePatch), TestSupport.Group, "v1", ns, TestSupport.Plural, "w");
        var table = (await RawHttp.SendAsync(fx.Server, HttpMethod.Get, $"/apis/example.com/v1/namespaces/{ns}/widgets", accept: "application/json;as=Table;v=v1;g=meta.k8s.io")).Body!;
        Assert.Equal("Table", (string?)table["kind"]);
        Assert.Equal(["Name", "Size", "Ready", "Age"], table["columnDefinitions"]!.AsArray().Select(c => (string?)c!["name"]));
        var cells = table["rows"]![0]!["cells"]!.AsArray();
        Assert.Equal("w", (string?)cells[0]);
        Assert.Equal(4, (int?)cells[1]);
        Assert.Equal("True", (string?)cells[2]);
    }

    [Fact]
    public async Task Deleting_the_crd_removes_its_objects_and_endpoint()
    {
        var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(TestSupport.WidgetCrdYaml.Replace("widgets", "gadgets", StringComparison.Ordinal).Replace("Widget", "Gadget", StringComparison.Ordinal).Replace("widget", "gadget", StringComparison.Ordinal).Replace("[wd]", "[gd]", StringComparison.Ordinal));
        await _client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        var ns = await TestSupport.NewNamespaceAsync(_client, "crddel");
        var g = TestSupport.Widget("g", 1);
        g["kind"] = "Gadget";
        await _client.CustomObjects.CreateNamespacedCustomObjectAsync(g, TestSupport.Group, "v1", ns, "gadgets");
        await _client.ApiextensionsV1.DeleteCustomResourceDefinitionAsync("gadgets.example.com");
        var e = await TestSupport.ApiErrorAsync(() => _client.CustomObjects.GetNamespacedCustomObjectAsync(TestSupport.Group, "v1", ns, "gadgets", "g"));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
    }
}
