using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Operator.Api;
using OperatorJob = BiT.Operator.Api.BiTJob;

namespace BiT.Operator.Controllers;

/// <summary>
/// The contracts' validation and plan resolver (HyperRule or upstream recipe, then overrides), applied to a job as
/// read from the API. The operator cannot read the data: a spec without trainExamples (or, to fine-tune, imageSize)
/// gets a deferred plan that the trainer completes after measuring the data in the pod.
/// </summary>
public sealed class ContractsJobPlanner : IJobPlanner
{
    public (PlannedJob? Plan, IReadOnlyList<FieldError> Errors) Plan(OperatorJob job, PlanContext context)
    {
        var (contractJob, parseErrors) = JobSettingsReader.Parse(job);
        if (contractJob is null)
        {
            return (null, parseErrors);
        }

        try
        {
            var plan = PlanResolver.Resolve(contractJob, measured: null, new PlanResolverOptions
            {
                CheckpointDirectory = context.CheckpointDirectory,
                PretrainModelPath = context.PretrainedWeightsPath is { } p ? _ => p : null,
                DeferUnmeasuredFacts = true,
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
