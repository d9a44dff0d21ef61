namespace BiT.Contracts.Crds;

/// <summary>Names of a custom resource kind (group and version come from <c>ApiInfo</c>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class CustomResourceAttribute(string kind, string plural, string singular, string shortName) : Attribute
{
    /// <summary>The kind.</summary>
    public string Kind { get; } = kind;

    /// <summary>Plural resource name (the CRD is named plural.group).</summary>
    public string Plural { get; } = plural;

    /// <summary>Singular resource name.</summary>
    public string Singular { get; } = singular;

    /// <summary>kubectl short name.</summary>
    public string ShortName { get; } = shortName;

    /// <summary>kubectl categories (kubectl get bit).</summary>
    public string[] Categories { get; init; } = [];
}
