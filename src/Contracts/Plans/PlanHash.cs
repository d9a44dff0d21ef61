using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts.Api;

namespace BiT.Contracts.Plans;

/// <summary>
/// SHA-256 (lowercase hex) of the canonical JSON of what affects a run's result. Recorded in every checkpoint:
/// a checkpoint of another plan is never resumed. Left out, because they do not change the numbers: the job's
/// identity, checkpoint settings, file locations (the same data mounted elsewhere is the same run) and the
/// bookkeeping fields <c>rule</c> and <c>overridden</c>.
/// </summary>
public static class PlanHash
{
    /// <summary>The hash of a plan.</summary>
    public static string Compute(TrainingPlan plan) => Sha256Hex(HashedJson(plan));

    /// <summary>The exact text that is hashed (for debugging a mismatch).</summary>
    public static string HashedJson(TrainingPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var node = JsonSerializer.SerializeToNode(plan, BiTJson.Options)!.AsObject();
        node.Remove("job");
        node.Remove("checkpoint");
        node["dataset"]!.AsObject().Remove("path");
        if (node["model"]!["weights"] is JsonObject weights)
        {
            weights.Remove("path");
        }

        var hyper = node["hyperparameters"]!.AsObject();
        hyper.Remove("rule");
        hyper.Remove("overridden");
        return CanonicalJson.Canonicalize(node);
    }

    private static string Sha256Hex(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
