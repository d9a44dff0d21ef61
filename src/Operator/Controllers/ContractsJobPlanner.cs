using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Operator.Api;

namespace BiT.Operator.Controllers;

/// <summary>
/// The contracts' plan resolver (HyperRule or upstream recipe, then overrides), applied to a job's view (parsed and
/// validated once). The operator cannot read the data: a spec without trainExamples (or, to fine-tune, imageSize)
/// gets a deferred plan that the trainer completes after measuring the data in the pod.
/// </summary>
public sealed class ContractsJobPlanner : IJobPlanner
{
    public (PlannedJob? Plan, IReadOnlyList<FieldError> Errors) Plan(JobView job, PlanContext context)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Job is not { } contractJob || job.Errors.Count > 0)
        {
            return (null, job.Errors);
        }

        try
        {
            var plan = PlanResolver.Resolve(contractJob, measured: null, new PlanResolverOptions
            {
                CheckpointDirectory = context.CheckpointDirectory,
                PretrainModelPath = context.PretrainedWeightsPath is { } p ? _ => p : null,
                DeferUnmeasuredFacts = true,
                // The view validated the spec already.
                Validated = true,
            });
            // A deferred plan's hyperparameters are placeholders until the trainer has measured the data.
            var planned = plan.Deferred is { } deferred
                ? new PlannedJob(plan.ToJson(), null, PlanHash.Compute(plan), deferred.Missing)
                : new PlannedJob(plan.ToJson(), plan.Hyperparameters, PlanHash.Compute(plan));
            return (planned, []);
        }
        catch (PlanException ex)
        {
            return (null, ex.Errors);
        }
    }
}
