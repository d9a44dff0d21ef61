using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>The one-word summary of a job for kubectl's Phase column; conditions carry the detail.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobPhase>))]
[Field("Pending, Running, Restarting, Suspended, Succeeded or Failed.")]
public enum JobPhase
{
    /// <summary>Accepted, no trainer running yet.</summary>
    Pending,

    /// <summary>A trainer pod is running.</summary>
    Running,

    /// <summary>Waiting to restart from a checkpoint.</summary>
    Restarting,

    /// <summary>Suspended by spec.suspend.</summary>
    Suspended,

    /// <summary>Finished; result holds the metrics.</summary>
    Succeeded,

    /// <summary>Failed permanently.</summary>
    Failed,
}
