using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Contracts.Pods;
using BiT.Operator.Api;

namespace BiT.Operator.Controllers;

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
/// Resolves a validated job into a plan (HyperRule or upstream recipe, then overrides). The real one is the
/// contracts' <c>PlanResolver</c>; tests substitute their own.
/// </summary>
public interface IJobPlanner
{
    /// <summary>Resolves the plan of a job whose view is valid (<see cref="JobView.Settings"/> set).</summary>
    (PlannedJob? Plan, IReadOnlyList<FieldError> Errors) Plan(JobView job, PlanContext context);
}
