using System.Text.Json.Serialization;
using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>
/// What both job kinds have, their kubectl columns included (the attributes are inherited); only <see cref="Kind"/>
/// differs.
/// </summary>
[PrinterColumn(0, "Phase", "string", ".status.phase")]
[PrinterColumn(1, "Progress", "string", ".status.progress.display", Description = "step/totalSteps")]
[PrinterColumn(2, "Top1", "number", ".status.result.top1")]
[PrinterColumn(3, "Restarts", "integer", ".status.restarts")]
[PrinterColumn(4, "ETA", "string", ".status.progress.eta", Description = "Estimated time left, reported by the trainer", Priority = 1)]
[PrinterColumn(5, "Images/s", "number", ".status.progress.imagesPerSecond", Description = "Training throughput", Priority = 1)]
[PrinterColumn(6, "Pod", "string", ".status.podName", Description = "The current or last trainer pod", Priority = 1)]
[PrinterColumn(7, "Workers", "string", ".status.workers.display", Description = "Workers running / total", Priority = 1)]
[PrinterColumn(8, "World", "integer", ".status.worldSize", Description = "Ranks: workers x processes per pod", Priority = 1)]
[PrinterColumn(9, "Age", "date", ".metadata.creationTimestamp")]
public abstract record BiTJob
{
    /// <summary>bit.training/v1alpha1.</summary>
    [Field("bit.training/v1alpha1.")]
    public string ApiVersion { get; init; } = ApiInfo.ApiVersion;

    /// <summary>BiTFineTuneJob or BiTPretrainJob.</summary>
    [Field("The kind.")]
    public string Kind { get; init; } = "";

    /// <summary>Name, namespace, uid and friends.</summary>
    [Field("Standard object metadata.", Required = true)]
    public ObjectMeta Metadata { get; init; } = new();

    /// <summary>Desired state.</summary>
    [Field("Desired state.", Required = true)]
    public BiTJobSpec Spec { get; init; } = new();

    /// <summary>Observed state.</summary>
    [Field("Observed state.")]
    public BiTJobStatus? Status { get; init; }

    /// <summary>True for a BiTPretrainJob.</summary>
    [JsonIgnore]
    public bool IsPretrain => Kind == ApiInfo.PretrainKind;
}
