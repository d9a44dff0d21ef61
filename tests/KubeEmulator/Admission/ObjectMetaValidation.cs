using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeEmulator.Api;

namespace KubeEmulator.Admission;

/// <summary>metadata.name rules per resource (DNS subdomain, DNS label, or path segment) and label syntax.</summary>
internal static partial class ObjectMetaValidation
{
    private const string SubdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    private const string LabelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Subdomain();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();

    public static void Validate(ResourceType t, JsonObject obj, List<FieldError> errors)
    {
        var name = Json.Str(obj, "metadata", "name");
        if (string.IsNullOrEmpty(name))
        {
            errors.Add(FieldError.Required("metadata.name", "name or generateName is required"));
            return;
        }
        if (t.Group == "rbac.authorization.k8s.io")
        {
            if (name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('%', StringComparison.Ordinal))
            {
                errors.Add(FieldError.Invalid("metadata.name", $"\"{name}\"", "may not contain '/' or '%'"));
            }
            return;
        }
        if (t.GroupResource is "namespaces" or "services")
        {
            if (name.Length > 63 || !DnsLabel().IsMatch(name))
            {
                errors.Add(FieldError.Invalid("metadata.name", $"\"{name}\"", LabelMessage));
            }
            return;
        }
        if (name.Length > 253 || !Subdomain().IsMatch(name))
        {
            errors.Add(FieldError.Invalid("metadata.name", $"\"{name}\"", SubdomainMessage));
        }
    }

    /// <summary>The API server's limit: all annotation keys and values together at most 256 KiB.</summary>
    public const int MaxAnnotationBytes = 256 * 1024;

    public static void ValidateAnnotations(JsonObject obj, List<FieldError> errors)
    {
        if (Json.At(obj, "metadata", "annotations") is not JsonObject annotations)
        {
            return;
        }
        long total = 0;
        foreach (var (k, v) in annotations)
        {
            total += System.Text.Encoding.UTF8.GetByteCount(k);
            total += v is JsonValue jv && jv.TryGetValue<string>(out var s) ? System.Text.Encoding.UTF8.GetByteCount(s) : 0;
        }
        if (total > MaxAnnotationBytes)
        {
            errors.Add(FieldError.TooLong("metadata.annotations", MaxAnnotationBytes));
        }
    }

    /// <summary>Kubernetes' qualified-name check (label keys, toleration keys, node selector keys); null when valid.</summary>
    public static string? QualifiedNameProblem(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var name = slash >= 0 ? key[(slash + 1)..] : key;
        if (slash >= 0 && (slash == 0 || slash > 253 || !Subdomain().IsMatch(key[..slash])))
        {
            return "prefix part must be a lowercase RFC 1123 subdomain";
        }
        return name.Length is 0 or > 63 || !LabelValue().IsMatch(name)
            ? "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
            : null;
    }

    public static void ValidateLabels(JsonObject obj, List<FieldError> errors)
    {
        if (Json.At(obj, "metadata", "labels") is not JsonObject labels)
        {
            return;
        }
        foreach (var (k, v) in labels)
        {
            var key = k.Contains('/', StringComparison.Ordinal) ? k[(k.IndexOf('/', StringComparison.Ordinal) + 1)..] : k;
            if (key.Length is 0 or > 63 || !LabelValue().IsMatch(key))
            {
                errors.Add(FieldError.Invalid("metadata.labels", $"\"{k}\"", "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
            }
            var value = v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : null;
            if (value is null)
            {
                errors.Add(FieldError.TypeInvalid($"metadata.labels.{k}", v?.ToJsonString() ?? "null", "label values must be strings"));
            }
            else if (value.Length > 63 || !LabelValue().IsMatch(value))
            {
                errors.Add(FieldError.Invalid($"metadata.labels", $"\"{value}\"", "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
            }
        }
    }
}
