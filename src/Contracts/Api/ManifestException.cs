namespace BiT.Contracts.Api;

/// <summary>A manifest that cannot be used, with every problem found (not only the first).</summary>
public sealed class ManifestException : Exception
{
    /// <summary>Creates the exception from its errors.</summary>
    public ManifestException(IReadOnlyList<FieldError> errors, string? source = null)
        : base(Describe(errors, source))
    {
        Errors = errors;
        SourceFile = source;
    }

    /// <summary>Needed by analyzers; prefer the constructor with errors.</summary>
    public ManifestException()
        : this([new FieldError("(manifest)", "invalid manifest")])
    {
    }

    /// <summary>Needed by analyzers; prefer the constructor with errors.</summary>
    public ManifestException(string message)
        : this([new FieldError("(manifest)", message)])
    {
    }

    /// <summary>Needed by analyzers; prefer the constructor with errors.</summary>
    public ManifestException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [new FieldError("(manifest)", message)];
    }

    /// <summary>Every problem, in document order.</summary>
    public IReadOnlyList<FieldError> Errors { get; }

    /// <summary>The file the manifest came from, if any.</summary>
    public string? SourceFile { get; }

    private static string Describe(IReadOnlyList<FieldError> errors, string? source)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var where = source is null ? "manifest" : $"manifest {source}";
        var count = errors.Count == 1 ? "1 error" : $"{errors.Count} errors";
        return $"invalid {where} ({count}):{Environment.NewLine}" +
            string.Join(Environment.NewLine, errors.Select(e => "  " + e));
    }
}
