using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Operator.Api;
using BiT.Operator.Controllers;

namespace BiT.Operator.Hosting;

/// <summary>
/// Stands in for the contracts' plan resolver until it is available: the plan is the spec plus the job's identity,
/// with the spec's own hyperparameters as the resolved ones.
/// </summary>
public sealed class InterimPlanner : IJobPlanner
{
    public (PlannedJob? Plan, IReadOnlyList<FieldError> Errors) Plan(BiTJob job, PlanContext context)
    {
        var spec = JsonNode.Parse(job.Spec.GetRawText())!.AsObject();
        var hp = spec["hyperparameters"]?.DeepClone() ?? new JsonObject();
        var plan = new JsonObject
        {
            ["kind"] = context.Kind.Kind,
            ["namespace"] = context.Namespace,
            ["name"] = context.Name,
            ["uid"] = context.Uid,
            ["spec"] = spec,
            ["checkpointDirectory"] = context.CheckpointDirectory,
            ["pretrainedWeights"] = context.PretrainedWeightsPath,
        };
        var json = plan.ToJsonString();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(spec))));
        return (new PlannedJob(json, hp, hash), []);
    }
}
