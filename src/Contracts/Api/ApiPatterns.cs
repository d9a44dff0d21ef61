namespace BiT.Contracts.Api;

/// <summary>Regular expressions shared by the schema attributes, the validator and the CRDs (ECMA-262 compatible).</summary>
public static class ApiPatterns
{
    /// <summary>The six published architectures, optionally with the BiT-S-/BiT-M- prefix, or Custom.</summary>
    public const string Architecture = "^((BiT-[SM]-)?(R50x1|R50x3|R101x1|R101x3|R152x2|R152x4)|Custom)$";

    /// <summary>A lowercase hex SHA-256.</summary>
    public const string Sha256 = "^[0-9a-f]{64}$";

    /// <summary>An http(s) URL.</summary>
    public const string HttpUrl = "^https?://[^\\s]+$";

    /// <summary>A Go/Kubernetes duration without sign: 90s, 15m, 1h30m, 0.</summary>
    public const string Duration = "^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|ms|s|m|h))+)$";

    /// <summary>A Kubernetes resource quantity (8, 500m, 32Gi, 1e3).</summary>
    public const string Quantity =
        "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";

    /// <summary>A DNS-1123 label (namespaces).</summary>
    /// <summary>A Kubernetes quantity that is not negative (resource requests and claim sizes).</summary>
    public const string NonNegativeQuantity =
        "^\\+?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE]\\+?[0-9]{1,2}))?$";

    /// <summary>A label key (qualified name): an optional DNS-subdomain prefix and '/', then a name of at most 63 characters.</summary>
    public const string LabelKey =
        "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";

    /// <summary>A label value: empty or at most 63 characters, alphanumeric at both ends.</summary>
    public const string LabelValue = "^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$";

    public const string DnsLabel = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

    /// <summary>A DNS-1123 subdomain (object names, claim names).</summary>
    public const string DnsSubdomain = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

    /// <summary>A DNS-1123 subdomain or empty (class names, where "" means none).</summary>
    public const string DnsSubdomainOrEmpty = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$";

    /// <summary>A container image reference (registry/name[:tag][@digest]); loose on purpose, the allow-list decides.</summary>
    public const string Image = "^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$";
}
