using BiT.Contracts;
using BiT.Contracts.Api;
using k8s.Models;

namespace BiT.Operator.Api;

/// <summary>
/// A job as one reconcile sees it, built once from the cached object (<see cref="Of"/>): its kind and metadata, the
/// spec parsed through the contracts' types and validated once (<see cref="Job"/>, <see cref="Errors"/>), the part
/// of the spec the operator acts on (<see cref="Settings"/>), and the status parsed once (<see cref="Status"/>). The
/// reconciler, the planner and the controller's restart metric read this one view, never the raw JSON again.
/// </summary>
/// <remarks>
/// The per-job gauges (/metrics) do not read a view: a scrape reports every cached job, most of which are not being
/// reconciled, and building a view (or keeping the parsed status) for each would parse thousands of specs and statuses
/// per scrape or hold them all in memory. They read <see cref="JobObject.Summary"/>, a few values computed from the same
/// status bytes by the same parse (<see cref="BiTJobStatus.FromJson"/> then <see cref="JobSummary.Of"/>) and cached per
/// status version, so the two never disagree about a given status.
/// </remarks>
public sealed class JobView
{
    private JobView(JobKind kind, JobObject obj, BiTJob? job, IReadOnlyList<FieldError> errors, JobSettings? settings, BiTJobStatus status)
    {
        Kind = kind;
        Object = obj;
        Job = job;
        Errors = errors;
        Settings = settings;
        Status = status;
    }

    public JobKind Kind { get; }

    /// <summary>The object as the API holds it: metadata (finalizers, resourceVersion) and the raw spec and status.</summary>
    public JobObject Object { get; }

    public V1ObjectMeta Metadata => Object.Metadata;

    public string Name => Object.Metadata.Name;

    public string Namespace => Object.Metadata.NamespaceProperty;

    /// <summary>The job through the contracts' types; null when its spec does not parse (then <see cref="Errors"/> says why).</summary>
    public BiTJob? Job { get; }

    /// <summary>Every error of the spec, each once (field paths start with <c>spec.</c> or <c>metadata.</c>).</summary>
    public IReadOnlyList<FieldError> Errors { get; }

    /// <summary>The operator's settings with the contracts' defaults applied; null exactly when there are <see cref="Errors"/>.</summary>
    public JobSettings? Settings { get; }

    /// <summary>The status, parsed once (<see cref="BiTJobStatus.FromJson"/>).</summary>
    public BiTJobStatus Status { get; }

    /// <summary>Parses and validates <paramref name="obj"/> once.</summary>
    public static JobView Of(JobKind kind, JobObject obj)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(obj);
        var status = BiTJobStatus.FromJson(obj.Status);
        var (job, parseErrors) = JobSettingsReader.Parse(kind, obj);
        if (job is null)
        {
            return new JobView(kind, obj, null, parseErrors, null, status);
        }

        var errors = JobSettingsReader.Validate(job);
        return new JobView(kind, obj, job, errors, errors.Count == 0 ? JobSettingsReader.Settings(job.Spec) : null, status);
    }
}
