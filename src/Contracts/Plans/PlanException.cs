using BiT.Contracts.Api;

namespace BiT.Contracts.Plans;

/// <summary>A job that cannot be turned into a plan (invalid spec, or facts about the data missing).</summary>
public sealed class PlanException : Exception
{
    /// <summary>Creates the exception from its errors.</summary>
    public PlanException(IReadOnlyList<FieldError> errors, string? job = null)
        : base(Describe(errors, job))
    {
        Errors = errors;
    }

    /// <summary>Needed by analyzers; prefer the constructor with errors.</summary>
    public PlanException()
        : this([new FieldError("(plan)", "cannot resolve the plan")])
    {
    }

    /// <summary>Needed by analyzers; prefer the constructor with errors.</summary>
    public PlanException(string message)
        : this([new FieldError("(plan)", message)])
    {
    }

    /// <summary>Needed by analyzers; prefer the constructor with errors.</summary>
    public PlanException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [new FieldError("(plan)", message)];
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<FieldError> Errors { get; }

    private static string Describe(IReadOnlyList<FieldError> errors, string? job)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var what = job is null ? "the plan" : $"the plan of {job}";
        return $"cannot resolve {what}: " + string.Join("; ", errors.Select(e => e.ToString()));
    }
}
