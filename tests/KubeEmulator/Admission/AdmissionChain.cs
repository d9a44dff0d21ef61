using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Admission;

/// <summary>
/// Mutation and validation before a write, in the API server's order: object-meta checks, built-in defaulting and
/// validation, then for custom resources the CRD's structural schema (prune, default, validate). Throws 422 Invalid.
/// </summary>
internal sealed class AdmissionChain(TimeProvider time)
{
    public void Admit(ResourceType t, JsonObject obj, JsonObject? old, string? subresource, RequestOptions? o = null)
    {
        var name = Json.Str(obj, "metadata", "name") ?? "";
        var errors = new List<FieldError>();
        if (old is null)
        {
            ObjectMetaValidation.Validate(t, obj, errors);
        }
        ObjectMetaValidation.ValidateLabels(obj, errors);
        ObjectMetaValidation.ValidateAnnotations(obj, errors);
        if (errors.Count > 0)
        {
            throw ApiException.Invalid(t, name, errors);
        }
        if (t.Custom is not null)
        {
            CustomResourceAdmission.Admit(t, obj, old, errors, o);
        }
        else
        {
            BuiltinAdmission.Admit(t, obj, old, subresource, errors, time);
        }
        if (errors.Count > 0)
        {
            throw ApiException.Invalid(t, name, errors);
        }
    }
}
