namespace BiT.Contracts.Crds;

/// <summary>
/// Schema facts about a property (or a type/enum: its description). One source for three consumers: the CRD
/// generator writes them into the OpenAPI schema, the manifest parser and <c>SpecValidator</c> enforce them, so a
/// rule can never hold in the cluster and not locally or the other way round.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Class | AttributeTargets.Enum, AllowMultiple = false)]
public sealed class FieldAttribute(string description) : Attribute
{
    /// <summary>Human description, written into the CRD.</summary>
    public string Description { get; } = description;

    /// <summary>The field must be present.</summary>
    public bool Required { get; init; }

    /// <summary>Inclusive lower bound of a number; NaN = none.</summary>
    public double Minimum { get; init; } = double.NaN;

    /// <summary>Inclusive upper bound of a number; NaN = none.</summary>
    public double Maximum { get; init; } = double.NaN;

    /// <summary>The lower bound itself is not allowed.</summary>
    public bool ExclusiveMinimum { get; init; }

    /// <summary>ECMA-262 regular expression a string must match (anchored by the pattern itself).</summary>
    public string? Pattern { get; init; }

    /// <summary>Explains <see cref="Pattern"/> in error messages ("a lowercase hex SHA-256").</summary>
    public string? PatternHint { get; init; }

    /// <summary>Minimum string length; -1 = none.</summary>
    public int MinLength { get; init; } = -1;

    /// <summary>Maximum string length; -1 = none. Also bounds the cost of CEL rules over the field.</summary>
    public int MaxLength { get; init; } = -1;

    /// <summary>Minimum list length; -1 = none.</summary>
    public int MinItems { get; init; } = -1;

    /// <summary>Maximum list or map length; -1 = none. Also bounds the cost of CEL rules.</summary>
    public int MaxItems { get; init; } = -1;

    /// <summary>
    /// For a string map: the ECMA-262 pattern every value must match, written as the additionalProperties'
    /// <c>pattern</c> (checked by the API server's OpenAPI validation, which has no CEL cost).
    /// </summary>
    public string? ValuePattern { get; init; }

    /// <summary>For a string map: the values' maxLength (additionalProperties); -1 = none.</summary>
    public int ValueMaxLength { get; init; } = -1;

    /// <summary>OpenAPI format (date-time, ...).</summary>
    public string? Format { get; init; }

    /// <summary>For a list of objects: the key that makes it a map list (x-kubernetes-list-map-keys), e.g. "type".</summary>
    public string? ListMapKey { get; init; }

    /// <summary>A string that the API may also hold as an integer (resource quantities).</summary>
    public bool IntOrString { get; init; }
}
