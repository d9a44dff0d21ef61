using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts.Api;
using BiT.Contracts.Plans;
using BiT.Operator.Api;
using FieldError = BiT.Operator.Api.FieldError;
using OperatorJob = BiT.Operator.Api.BiTJob;

namespace BiT.Operator.Controllers;

/// <summary>
/// The contracts' validation and plan resolver (HyperRule or upstream recipe, then overrides), applied to a job as
/// read from the API. The operator cannot read the data, so a spec must give trainExamples (and, to fine-tune,
/// imageSize): the resolver reports them as missing otherwise.
/// </summary>
public sealed class ContractsJobPlanner : IJobPlanner
{
    public (PlannedJob? Plan, IReadOnlyList<FieldError> Errors) Plan(OperatorJob job, PlanContext context)
    {
        var json = new JsonObject
        {
            ["apiVersion"] = job.ApiVersion,
            ["kind"] = job.Kind,
            ["metadata"] = new JsonObject
            {
                ["name"] = job.Metadata.Name,
                ["namespace"] = job.Metadata.NamespaceProperty,
                ["uid"] = job.Metadata.Uid,
                ["generation"] = job.Metadata.Generation,
            },
            ["spec"] = JsonNode.Parse(job.Spec.GetRawText()),
        };

        BiT.Contracts.Api.BiTJob contractJob;
        try
        {
            contractJob = BiTJson.DeserializeJob(json.ToJsonString());
        }
        catch (ManifestException ex)
        {
            return (null, Convert(ex.Errors));
        }

        try
        {
            var plan = PlanResolver.Resolve(contractJob, measured: null, new PlanResolverOptions
            {
                CheckpointDirectory = context.CheckpointDirectory,
                PretrainModelPath = context.PretrainedWeightsPath is { } p ? _ => p : null,
            });
            var hyper = JsonSerializer.SerializeToNode(plan.Hyperparameters, BiTJson.Options)!;
            return (new PlannedJob(plan.ToJson(), hyper, PlanHash.Compute(plan)), []);
        }
        catch (PlanException ex)
        {
            return (null, Convert(ex.Errors));
        }
    }

    private static List<FieldError> Convert(IEnumerable<BiT.Contracts.Api.FieldError> errors) =>
        [.. errors.Select(e => new FieldError(e.Path, e.Message))];
}
