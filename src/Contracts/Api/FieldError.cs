namespace BiT.Contracts.Api;

/// <summary>One problem in a manifest or spec: the field path (<c>spec.dataset.numClasses</c>) and what is wrong.</summary>
/// <param name="Path">Dotted field path with [i] for list items.</param>
/// <param name="Message">What was expected and what was found.</param>
/// <param name="Line">1-based line in the YAML source, when known.</param>
public sealed record FieldError(string Path, string Message, int? Line = null)
{
    /// <summary><c>path: message</c>, with the line when known.</summary>
    public override string ToString() =>
        Line is { } line ? $"{Path}: {Message} (line {line})" : $"{Path}: {Message}";
}
