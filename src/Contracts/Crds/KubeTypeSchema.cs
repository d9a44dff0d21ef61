using System.Reflection;
using System.Text.Json.Serialization;
using k8s.Models;

namespace BiT.Contracts.Crds;

/// <summary>
/// The structural schema of a Kubernetes API type (<c>k8s.Models</c>: V1Affinity, V1Volume, V1Container, ...) from
/// its serialized properties, so that <c>spec.podTemplate</c> is validated by the API server like a pod's own fields
/// instead of being kept as unknown fields. The client's types carry no required-field facts, so the few that keep
/// the operator's merge sound (names and mount paths) are listed here; the API server checks the rest when the pod
/// is created, and the operator reports that refusal as a condition.
/// </summary>
internal static class KubeTypeSchema
{
    private static readonly Dictionary<Type, string[]> RequiredFields = new()
    {
        [typeof(V1Container)] = ["name"],
        [typeof(V1Volume)] = ["name"],
        [typeof(V1VolumeMount)] = ["name", "mountPath"],
        [typeof(V1EnvVar)] = ["name"],
        [typeof(V1LocalObjectReference)] = ["name"],
    };

    /// <summary>True for the client's API types.</summary>
    public static bool Handles(Type type) => type.Namespace == typeof(V1Pod).Namespace;

    public static YamlMap For(Type type, string? description)
    {
        var schema = Of(type, []);
        if (description is null)
        {
            return schema;
        }

        var withDescription = new YamlMap { ["description"] = description };
        foreach (var (k, v) in schema.Entries)
        {
            withDescription[k] = v;
        }

        return withDescription;
    }

    private static YamlMap Of(Type type, HashSet<Type> path)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return new YamlMap { ["type"] = "string" };
        }

        if (type == typeof(bool))
        {
            return new YamlMap { ["type"] = "boolean" };
        }

        if (type == typeof(int))
        {
            return new YamlMap { ["type"] = "integer", ["format"] = "int32" };
        }

        if (type == typeof(long))
        {
            return new YamlMap { ["type"] = "integer", ["format"] = "int64" };
        }

        if (type == typeof(double))
        {
            return new YamlMap { ["type"] = "number" };
        }

        if (type == typeof(DateTime))
        {
            return new YamlMap { ["type"] = "string", ["format"] = "date-time" };
        }

        if (type == typeof(byte[]))
        {
            return new YamlMap { ["type"] = "string", ["format"] = "byte" };
        }

        if (type == typeof(ResourceQuantity) || type == typeof(IntOrString))
        {
            var quantity = new YamlMap
            {
                ["anyOf"] = new List<object?> { new YamlMap { ["type"] = "integer" }, new YamlMap { ["type"] = "string" } },
            };
            if (type == typeof(ResourceQuantity))
            {
                // As Kubernetes' own CRDs say it: a string quantity must parse, or the operator could not read it.
                quantity["pattern"] = Api.ApiPatterns.Quantity;
            }

            quantity["x-kubernetes-int-or-string"] = true;
            return quantity;
        }

        if (type == typeof(object))
        {
            // Free-form JSON (FieldsV1 of an ephemeral volume's claim template): the one place nothing narrower exists.
            return new YamlMap { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true };
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IList<>))
        {
            return new YamlMap { ["type"] = "array", ["items"] = Of(type.GetGenericArguments()[0], path) };
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IDictionary<,>) && type.GetGenericArguments()[0] == typeof(string))
        {
            return new YamlMap { ["type"] = "object", ["additionalProperties"] = Of(type.GetGenericArguments()[1], path) };
        }

        if (!Handles(type) || !type.IsClass)
        {
            throw new InvalidOperationException($"no schema for {type.FullName}");
        }

        if (!path.Add(type))
        {
            throw new InvalidOperationException($"{type.Name} contains itself; a structural schema cannot say that");
        }

        var properties = new YamlMap();
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
        {
            if (p.GetCustomAttribute<JsonPropertyNameAttribute>() is { } name)
            {
                properties[name.Name] = Of(p.PropertyType, path);
            }
        }

        path.Remove(type);
        var schema = new YamlMap { ["type"] = "object" };
        if (RequiredFields.TryGetValue(type, out var required))
        {
            schema["required"] = required.Cast<object?>().ToList();
        }

        schema["properties"] = properties;
        return schema;
    }
}
