using k8s;
using k8s.Models;

namespace KubeEmulator.Tests;

/// <summary>
/// A CRD whose CEL rule a real API server estimates too costly is refused at write time, as there: a comprehension
/// over a map's or list's unbounded strings read with matches(). With maxLength (and maxItems) it is taken.
/// </summary>
public sealed class CelCostTests(KubeEmulatorFixture fx) : IClassFixture<KubeEmulatorFixture>
{
    private readonly k8s.Kubernetes _client = fx.Server.CreateClient();

    private static V1CustomResourceDefinition Crd(string plural, string field) => KubernetesYaml.Deserialize<V1CustomResourceDefinition>($$"""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: {{plural}}.cost.example.com}
        spec:
          group: cost.example.com
          scope: Namespaced
          names: {plural: {{plural}}, kind: K{{plural}}}
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
                      properties:
                        field: {{field}}
        """);

    public static TheoryData<string, string, bool> Cases() => new()
    {
        // The nodeSelector rules this project once generated: values without maxLength (about 2.5e8 > 1e7).
        { "selvalues", "{type: object, maxProperties: 64, additionalProperties: {type: string}, x-kubernetes-validations: [{rule: \"self.all(k, self[k].size() <= 63 && self[k].matches('^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$'))\"}]}", false },
        { "selbounded", "{type: object, maxProperties: 64, additionalProperties: {type: string, maxLength: 63}, x-kubernetes-validations: [{rule: \"self.all(k, self[k].matches('^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$'))\"}]}", true },
        // Keys have no size in the estimate: a key rule is cheap (the real estimator agrees).
        { "selkeys", "{type: object, maxProperties: 64, additionalProperties: {type: string}, x-kubernetes-validations: [{rule: \"self.all(k, k.matches('^[a-z]+$'))\"}]}", true },
        { "listunbounded", "{type: array, items: {type: string}, x-kubernetes-validations: [{rule: \"self.all(x, x.matches('^[a-z]+$'))\"}]}", false },
        { "listitems", "{type: array, maxItems: 8, items: {type: string}, x-kubernetes-validations: [{rule: \"self.all(x, x.matches('^[a-z]+$'))\"}]}", true },
        { "listbounded", "{type: array, maxItems: 1000, items: {type: string, maxLength: 64}, x-kubernetes-validations: [{rule: \"self.all(x, x.startsWith('a'))\"}]}", true },
        { "plain", "{type: string, x-kubernetes-validations: [{rule: \"self != 'x'\"}]}", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_crd_is_refused_when_its_rule_is_estimated_over_the_budget(string plural, string field, bool accepted)
    {
        var crd = Crd(plural, field);
        if (accepted)
        {
            await _client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
            return;
        }

        var e = await TestSupport.ApiErrorAsync(() => _client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains("estimated rule cost exceeds budget by factor of", e.Response.Content, StringComparison.Ordinal);
        Assert.Contains("properties[field].x-kubernetes-validations[0].rule", e.Response.Content, StringComparison.Ordinal);
    }
}
