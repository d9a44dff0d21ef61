namespace BiT.Contracts.Crds;

/// <summary>An additionalPrinterColumns entry of the CRD, in attribute order.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class PrinterColumnAttribute(int order, string name, string type, string jsonPath) : Attribute
{
    /// <summary>Position among the columns (attributes carry no reliable order by themselves).</summary>
    public int Order { get; } = order;

    /// <summary>Column header.</summary>
    public string Name { get; } = name;

    /// <summary>OpenAPI type: string, integer, number, boolean, date.</summary>
    public string Type { get; } = type;

    /// <summary>JSONPath into the object.</summary>
    public string JsonPath { get; } = jsonPath;

    /// <summary>Column description.</summary>
    public string? Description { get; init; }

    /// <summary>0 = shown by default; higher = only with -o wide.</summary>
    public int Priority { get; init; }
}
