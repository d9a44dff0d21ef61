using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Admission;

/// <summary>Custom resources: prune, default, validate against the served version's schema.</summary>
internal static class CustomResourceAdmission
{
    public static void Admit(ResourceType t, JsonObject obj, JsonObject? old, List<FieldError> errors, RequestOptions? o)
    {
        var schema = t.Custom?.Schema;
        if (schema is null)
        {
            return;
        }
        var pruned = new List<string>();
        StructuralSchema.Prune(obj, schema, root: true, pruned: pruned);
        if (pruned.Count > 0 && o is not null)
        {
            if (o.FieldValidation == "Strict")
            {
                var unknown = string.Join(", ", pruned.Select(p => $"unknown field \"{p}\""));
                throw ApiException.BadRequest($"{t.Kind} in version \"{t.Version}\" cannot be handled as a {t.Kind}: strict decoding error: {unknown}");
            }
            if (o.FieldValidation != "Ignore")
            {
                o.Warnings.AddRange(pruned.Select(p => $"unknown field \"{p}\""));
            }
        }
        StructuralSchema.Default(obj, schema);
        errors.AddRange(StructuralSchema.Validate(obj, schema, "", root: true));
        if (errors.Count == 0)
        {
            CelRules.Validate(obj, old, old is not null, schema, "", errors);
        }
    }
}
