using k8s;
using k8s.Models;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>The CRDs from crds/ (generated from the contracts' types by <c>bit-operator crds</c>).</summary>
internal static class TestCrds
{
    public static IReadOnlyList<V1CustomResourceDefinition> Load()
    {
        var files = Directory.Exists(RepoPaths.Crds) ? Directory.GetFiles(RepoPaths.Crds, "*.yaml") : [];
        if (files.Length == 0)
        {
            throw new InvalidOperationException($"no CRDs in {RepoPaths.Crds}: run bit-operator crds --output crds/");
        }

        return [.. files.Order(StringComparer.Ordinal).Select(f => KubernetesYaml.Deserialize<V1CustomResourceDefinition>(File.ReadAllText(f)))];
    }
}
