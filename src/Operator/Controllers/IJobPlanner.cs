using BiT.Contracts.Api;
using BiT.Operator.Api;
using BiTJob = BiT.Operator.Api.BiTJob;

namespace BiT.Operator.Controllers;

/// <summary>Where the pod puts things, so that the plan names paths as the trainer will see them.</summary>
public static class PodPaths
{
    public const string PlanDirectory = "/etc/bit";
    public const string PlanFile = PlanDirectory + "/plan.json";
    public const string Checkpoints = "/checkpoints";
    public const string Pretrained = "/pretrained";
    /// <summary>
    /// Writable scratch (the root filesystem is read-only); TMPDIR points here. Not /tmp: the test cluster's kubelet
    /// maps every container path under a mount onto the host, and the host paths a test puts into a spec (the
    /// repository's data, checked out under /tmp in CI) would be mapped onto the scratch volume too.
    /// </summary>
    public const string Tmp = "/scratch";
}

/// <summary>The job's identity and where its inputs are, for the plan.</summary>
public sealed record PlanContext(
    JobKind Kind,
    string Namespace,
    string Name,
    string Uid,
    string CheckpointDirectory,

    /// <summary>For fromPretrainJob: the upstream model as this pod sees it (under <see cref="PodPaths.Pretrained"/>).</summary>
    string? PretrainedWeightsPath);

/// <summary>
/// A resolved plan: the JSON the trainer reads, the hyperparameters for the status and its hash. A deferred plan
/// (the data's size is measured in the pod) has no hyperparameters yet and names the facts still
/// <paramref name="Missing"/>.
/// </summary>
public sealed record PlannedJob(string PlanJson, ResolvedHyperparameters? Hyperparameters, string PlanHash, IReadOnlyList<string> Missing)
{
    public PlannedJob(string planJson, ResolvedHyperparameters hyperparameters, string planHash)
        : this(planJson, hyperparameters, planHash, [])
    {
    }
}

/// <summary>
/// Validates a spec and resolves it into a plan (HyperRule or upstream recipe, then overrides). The real one is
/// the contracts' <c>Validate</c> + <c>PlanResolver</c>; tests substitute their own.
/// </summary>
public interface IJobPlanner
{
    (PlannedJob? Plan, IReadOnlyList<FieldError> Errors) Plan(BiTJob job, PlanContext context);
}
