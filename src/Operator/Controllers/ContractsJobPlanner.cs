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
/// read from the API. The operator cannot read the data: a spec without trainExamples (or, to fine-tune, imageSize)
/// gets a deferred plan that the trainer completes after measuring the data in the pod.
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
                DeferUnmeasuredFacts = true,
            });
            var hyper = plan.Deferred is { } deferred
                ? DeferredHyperparameters(deferred)
                : JsonSerializer.SerializeToNode(plan.Hyperparameters, BiTJson.Options)!;
            return (new PlannedJob(plan.ToJson(), hyper, PlanHash.Compute(plan)), []);
        }
        catch (PlanException ex)
        {
            return (null, Convert(ex.Errors));
        }
    }

    /// <summary>
    /// A deferred plan's hyperparameters are placeholders until the trainer measures the data, so the status shows
    /// only what is known: the spec's own overrides and which facts are still missing.
    /// </summary>
    private static JsonNode DeferredHyperparameters(DeferredResolution deferred)
    {
        var known = deferred.Spec.Hyperparameters is { } h
            ? JsonSerializer.SerializeToNode(h, BiTJson.Options) as JsonObject ?? []
            : [];
        known["rule"] = DeferredResolution.RuleName;
        known["missing"] = new JsonArray([.. deferred.Missing.Select(m => (JsonNode?)JsonValue.Create(m))]);
        return known;
    }

    private static List<FieldError> Convert(IEnumerable<BiT.Contracts.Api.FieldError> errors) =>
        [.. errors.Select(e => new FieldError(e.Path, e.Message))];
}
