using BiT.Operator.Api;
using k8s.Models;

namespace BiT.Operator.Controllers;

/// <summary>Everything a reconcile looks at: the job, the pods it owns, its upstream job, and the time.</summary>
public sealed record ReconcileInput(
    JobKind Kind,
    BiTJob Job,
    IReadOnlyList<V1Pod> Pods,
    BiTJob? Upstream,
    DateTimeOffset Now);
