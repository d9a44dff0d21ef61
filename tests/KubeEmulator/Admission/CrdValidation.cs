using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Admission;

/// <summary>CustomResourceDefinition defaulting and the validation the apiextensions server does that matters in tests.</summary>
internal static class CrdValidation
{
    public static void Validate(JsonObject crd, JsonObject? old, List<FieldError> errors)
    {
        var spec = Json.Obj(crd, "spec");
        var group = Json.Str(spec, "group");
        var names = Json.Obj(spec, "names");
        var plural = Json.Str(names, "plural");
        var kind = Json.Str(names, "kind");
        if (string.IsNullOrEmpty(group))
        {
            errors.Add(FieldError.Required("spec.group"));
        }
        else if (!group.Contains('.', StringComparison.Ordinal))
        {
            errors.Add(FieldError.Invalid("spec.group", $"\"{group}\"", "should be a domain with at least one dot"));
        }
        if (string.IsNullOrEmpty(plural))
        {
            errors.Add(FieldError.Required("spec.names.plural"));
        }
        if (string.IsNullOrEmpty(kind))
        {
            errors.Add(FieldError.Required("spec.names.kind"));
        }
        if (plural is not null && group is not null && Json.Str(crd, "metadata", "name") != $"{plural}.{group}")
        {
            errors.Add(FieldError.Invalid("metadata.name", $"\"{Json.Str(crd, "metadata", "name")}\"", "must be spec.names.plural+\".\"+spec.group"));
        }
        if (kind is not null)
        {
            names["singular"] ??= kind.ToLowerInvariant();
            names["listKind"] ??= kind + "List";
        }
        var scope = Json.Str(spec, "scope");
        if (scope is not ("Namespaced" or "Cluster"))
        {
            errors.Add(scope is null ? FieldError.Required("spec.scope") : FieldError.NotSupported("spec.scope", $"\"{scope}\"", ["Cluster", "Namespaced"]));
        }
        spec["conversion"] ??= new JsonObject { ["strategy"] = "None" };
        if (spec["versions"] is not JsonArray versions || versions.Count == 0)
        {
            errors.Add(FieldError.Required("spec.versions", "must have exactly one version marked as storage version"));
            return;
        }
        var storage = versions.OfType<JsonObject>().Count(v => Json.At(v, "storage") is JsonValue b && b.GetValue<bool>());
        if (storage != 1)
        {
            errors.Add(FieldError.Invalid("spec.versions", "\"" + storage + "\"", "must have exactly one version marked as storage version"));
        }
        var i = 0;
        foreach (var v in versions.OfType<JsonObject>())
        {
            if (string.IsNullOrEmpty(Json.Str(v, "name")))
            {
                errors.Add(FieldError.Required($"spec.versions[{i}].name"));
            }
            if (Json.At(v, "schema", "openAPIV3Schema") is not JsonObject schema)
            {
                errors.Add(FieldError.Required($"spec.versions[{i}].schema.openAPIV3Schema", "schemas are required"));
            }
            else if (Json.Str(schema, "type") != "object")
            {
                errors.Add(FieldError.Invalid($"spec.versions[{i}].schema.openAPIV3Schema.type", $"\"{Json.Str(schema, "type")}\"", "must be object at the root"));
            }
            else
            {
                CelCostEstimate.Check(schema, $"spec.validation.openAPIV3Schema", errors);
            }
            i++;
        }
        if (old is not null && Json.Str(old, "spec", "group") != group)
        {
            errors.Add(FieldError.Invalid("spec.group", $"\"{group}\"", "field is immutable"));
        }
    }
}
