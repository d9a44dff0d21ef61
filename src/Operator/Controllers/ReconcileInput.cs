using BiT.Contracts;
using BiT.Operator.Api;
using k8s.Models;

namespace BiT.Operator.Controllers;

/// <summary>
/// Everything a reconcile looks at: the job's view (parsed once), the pods it owns, its upstream job's view, and
/// the time.
/// </summary>
public sealed record ReconcileInput(JobView Job, IReadOnlyList<V1Pod> Pods, JobView? Upstream, DateTimeOffset Now)
{
    /// <summary>Builds the views of a cached job (and its upstream pre-training job).</summary>
    public ReconcileInput(JobKind kind, JobObject job, IReadOnlyList<V1Pod> pods, JobObject? upstream, DateTimeOffset now)
        : this(JobView.Of(kind, job), pods, upstream is null ? null : JobView.Of(JobKind.Pretrain, upstream), now)
    {
    }

    public JobKind Kind => Job.Kind;
}
