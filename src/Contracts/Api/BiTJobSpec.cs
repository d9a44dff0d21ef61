using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>The spec shared by both kinds; <c>SpecValidator</c> applies the kind-specific rules.</summary>
[Field("Desired state of the job.")]
[CelRule("self.model == oldSelf.model", "spec.model is immutable once the job exists", FieldPath = ".model")]
[CelRule("self.dataset == oldSelf.dataset", "spec.dataset is immutable once the job exists", FieldPath = ".dataset")]
public sealed record BiTJobSpec
{
    /// <summary>The network and its initial weights.</summary>
    [Field("The network and its initial weights.", Required = true)]
    public ModelSpec? Model { get; init; }

    /// <summary>The data.</summary>
    [Field("Training and test data.", Required = true)]
    public DatasetSpec? Dataset { get; init; }

    /// <summary>Overrides of the rule's choices.</summary>
    [Field("Overrides of the HyperRule / upstream recipe.")]
    public HyperparametersSpec? Hyperparameters { get; init; }

    /// <summary>Checkpointing.</summary>
    [Field("Checkpoint interval, retention and storage.")]
    public CheckpointSpec? Checkpoint { get; init; }

    /// <summary>Seed of everything random (init, data order, augmentation, MixUp).</summary>
    [Field("Seed of initialisation, data order, augmentation and MixUp (default 0).", Minimum = 0, Maximum = 4_294_967_295)]
    public long? Seed { get; init; }

    /// <summary>Suspend: checkpoint and delete the pod; resume when cleared.</summary>
    [Field("True: checkpoint, delete the pod and wait; false again resumes from the checkpoint.")]
    public bool? Suspend { get; init; }

    /// <summary>Trainer image; must be in the operator's allow-list.</summary>
    [Field("Trainer image (default: the operator's); must be in the operator's allow-list.", Pattern = ApiPatterns.Image, PatternHint = "an image reference such as ghcr.io/org/trainer:0.1.0", MaxLength = 512)]
    public string? Image { get; init; }

    /// <summary>Pod resources and scheduling.</summary>
    [Field("Pod resources and scheduling (ignored locally).")]
    public ResourcesSpec? Resources { get; init; }

    /// <summary>Restarts and stalls.</summary>
    [Field("Restarts, stalls, pod rolling and clean-up (ignored locally).")]
    public RunPolicySpec? RunPolicy { get; init; }

    /// <summary>What users add to the trainer pod.</summary>
    [Field("Additions to the trainer pod: labels, annotations, affinity, pull secrets, env, volumes, runtime class, sidecars (ignored locally). The operator's own fields win where they conflict.")]
    public PodTemplateSpec? PodTemplate { get; init; }
}
