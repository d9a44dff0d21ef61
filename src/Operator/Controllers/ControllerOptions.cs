namespace BiT.Operator.Controllers;

/// <summary>What the operator is configured with, as the reconcilers need it.</summary>
public sealed record ControllerOptions
{
    /// <summary>The image a job gets when its spec names none.</summary>
    public string TrainerImage { get; init; } = "ghcr.io/bit-operator/trainer:0.1.0";

    /// <summary>
    /// Images a job may name: exact references, or prefixes ending in '*' (<c>ghcr.io/bit-operator/*</c>).
    /// The default trainer image is always allowed.
    /// </summary>
    public IReadOnlyList<string> AllowedImages { get; init; } = [];

    /// <summary>How long the trainer gets after SIGTERM to finish its step and write a checkpoint.</summary>
    public int TerminationGracePeriodSeconds { get; init; } = 300;

    /// <summary>A stalled trainer does not answer SIGTERM (it may be stopped): it gets this grace instead.</summary>
    public int StalledPodGracePeriodSeconds { get; init; } = 5;

    /// <summary>Port of the trainer's Prometheus endpoint inside the pod.</summary>
    public int TrainerMetricsPort { get; init; } = 9400;

    /// <summary>MASTER_PORT of a gang: rank 0 serves the rendezvous store there (torchrun's default port).</summary>
    public int RendezvousPort { get; init; } = 29500;

    /// <summary>UID the trainer runs as (non-root).</summary>
    public long RunAsUser { get; init; } = 1000;

    /// <summary>Priority classes and toleration keys jobs may use.</summary>
    public SchedulingPolicy Scheduling { get; init; } = new();

    /// <summary>The weights download policy put on every trainer pod's environment.</summary>
    public WeightsPolicy Weights { get; init; } = new();

    public bool IsImageAllowed(string image) =>
        image == TrainerImage
        || AllowedImages.Any(a => a.EndsWith('*') ? image.StartsWith(a[..^1], StringComparison.Ordinal) : image == a);
}
