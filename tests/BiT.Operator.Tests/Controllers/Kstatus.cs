using System.Text.Json.Nodes;

namespace BiT.Operator.Tests.Controllers;

/// <summary>
/// kstatus's generic rules for a custom resource (sigs.k8s.io/cli-utils pkg/kstatus/status: <c>Compute</c>,
/// <c>checkGenericProperties</c>, <c>checkGeneration</c>), which Flux's health checks apply: a deletion timestamp is
/// Terminating; an observedGeneration other than the generation is InProgress; then the first condition in the list
/// that is <c>Reconciling=True</c> (InProgress) or <c>Stalled=True</c> (Failed) decides; anything else is Current
/// (kstatus has no type-specific rule for an unknown kind, and it never reads <c>Ready</c>).
/// </summary>
internal static class Kstatus
{
    public const string InProgress = "InProgress";
    public const string Failed = "Failed";
    public const string Current = "Current";
    public const string Terminating = "Terminating";

    public static string Compute(JsonNode obj)
    {
        var metadata = obj["metadata"];
        if (metadata?["deletionTimestamp"] is JsonValue deletion && deletion.GetValue<string>() != "")
        {
            return Terminating;
        }

        var status = obj["status"];
        if (metadata?["generation"] is JsonValue generation && status?["observedGeneration"] is JsonValue observed
            && (long)generation != (long)observed)
        {
            return InProgress;
        }

        foreach (var condition in status?["conditions"]?.AsArray() ?? [])
        {
            var (type, value) = ((string?)condition?["type"], (string?)condition?["status"]);
            if (type == "Reconciling" && value == "True")
            {
                return InProgress;
            }

            if (type == "Stalled" && value == "True")
            {
                return Failed;
            }
        }

        return Current;
    }
}
