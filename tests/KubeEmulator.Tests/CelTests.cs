using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeEmulator.Admission;

namespace KubeEmulator.Tests;

/// <summary>The CEL subset behind x-kubernetes-validations, alone and through a CRD.</summary>
public sealed class CelTests(KubeEmulatorFixture fx) : IClassFixture<KubeEmulatorFixture>
{
    [Theory]
    [InlineData("(has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) == 1", "{\"a\":1}", true)]
    [InlineData("(has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) == 1", "{\"a\":1,\"b\":2}", false)]
    [InlineData("!has(self.x) || self.x % self.y == 0", "{\"x\":64,\"y\":8}", true)]
    [InlineData("!has(self.x) || self.x % self.y == 0", "{\"x\":64,\"y\":5}", false)]
    [InlineData("self.kind == 'Custom' ? has(self.blocks) : !has(self.blocks)", "{\"kind\":\"R50x1\"}", true)]
    [InlineData("size(self.items) == self.n && self.items.all(i, i.startsWith('c'))", "{\"items\":[\"cat\",\"cow\"],\"n\":2}", true)]
    [InlineData("self.items.exists(i, i == 'dog') || 'z' in self.items", "{\"items\":[\"cat\"]}", false)]
    [InlineData("self.w <= 2.5 && -self.w < 0 && self.name.matches('^[a-z]+$')", "{\"w\":2,\"name\":\"abc\"}", true)]
    [InlineData("has(self.a) != has(self.b)", "{\"b\":true}", true)]
    public void Evaluates_the_subset(string rule, string self, bool expected)
    {
        var vars = new Dictionary<string, object?>(StringComparer.Ordinal) { ["self"] = CelExpression.FromJson(JsonNode.Parse(self)) };
        Assert.Equal(expected, CelExpression.Evaluate(rule, vars));
    }

    [Fact]
    public void Missing_field_is_an_evaluation_error_and_syntax_errors_are_reported()
    {
        var vars = new Dictionary<string, object?>(StringComparer.Ordinal) { ["self"] = CelExpression.FromJson(JsonNode.Parse("{}")) };
        Assert.Contains("no such key: x", Assert.Throws<CelException>(() => CelExpression.Evaluate("self.x == 1", vars)).Message, StringComparison.Ordinal);
        Assert.Throws<CelException>(() => CelExpression.Evaluate("self ==", vars));
    }

    [Fact]
    public async Task Crd_rules_and_transition_rules_reject_with_422()
    {
        using var client = fx.Server.CreateClient();
        var yaml = """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {name: ranges.example.com}
            spec:
              group: example.com
              scope: Namespaced
              names: {plural: ranges, singular: range, kind: Range}
              versions:
              - name: v1
                served: true
                storage: true
                schema:
                  openAPIV3Schema:
                    type: object
                    properties:
                      spec:
                        type: object
                        x-kubernetes-validations:
                        - rule: self.min <= self.max
                          message: min must not exceed max
                        - rule: self.name == oldSelf.name
                          message: name is immutable
                          fieldPath: .name
                        properties:
                          name: {type: string}
                          min: {type: integer}
                          max: {type: integer}
            """;
        await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(KubernetesYaml.Deserialize<V1CustomResourceDefinition>(yaml));
        var ns = await TestSupport.NewNamespaceAsync(client, "cel");
        object Range(string name, int min, int max) => new Dictionary<string, object>
        {
            ["apiVersion"] = "example.com/v1",
            ["kind"] = "Range",
            ["metadata"] = new Dictionary<string, object> { ["name"] = "r" },
            ["spec"] = new Dictionary<string, object> { ["name"] = name, ["min"] = min, ["max"] = max },
        };
        var bad = await TestSupport.ApiErrorAsync(() => client.CustomObjects.CreateNamespacedCustomObjectAsync(Range("a", 5, 1), "example.com", "v1", ns, "ranges"));
        Assert.Equal(422, (int)bad.Response.StatusCode);
        Assert.Contains("spec: Invalid value: \\\"object\\\": min must not exceed max", bad.Response.Content, StringComparison.Ordinal);
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(Range("a", 1, 5), "example.com", "v1", ns, "ranges");
        var immutable = await TestSupport.ApiErrorAsync(() => client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("{\"spec\":{\"name\":\"b\"}}", V1Patch.PatchType.MergePatch), "example.com", "v1", ns, "ranges", "r"));
        Assert.Contains("spec.name", immutable.Response.Content, StringComparison.Ordinal);
        Assert.Contains("name is immutable", immutable.Response.Content, StringComparison.Ordinal);
    }
}
