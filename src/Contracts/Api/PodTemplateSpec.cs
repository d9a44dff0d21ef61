using BiT.Contracts.Crds;
using k8s.Models;

namespace BiT.Contracts.Api;

/// <summary>
/// What a platform adds to the trainer pod. Merged by the operator under its own fields: a reserved env name, label
/// or annotation keeps the operator's value; a volume name or mount path the pod uses itself is refused by
/// <see cref="SpecValidator"/>. The core/v1 types carry their own schema into the CRD. Ignored locally.
/// </summary>
[Field("Additions to the trainer pod, merged under the operator's own fields (used by the operator, ignored locally).")]
public sealed record PodTemplateSpec
{
    /// <summary>Labels of the pod; the operator's own labels win.</summary>
    [Field("Labels of the pod (after the job's own labels); the operator's labels (app.kubernetes.io/managed-by, bit.training/*) win.", MaxItems = 64)]
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>Annotations of the pod; the operator's own annotations win.</summary>
    [Field("Annotations of the pod; the operator's (bit.training/plan-hash) win.", MaxItems = 64)]
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    /// <summary>core/v1 Affinity.</summary>
    [Field("Node affinity, pod affinity and anti-affinity of the pod (core/v1 Affinity).")]
    public V1Affinity? Affinity { get; init; }

    /// <summary>Pull secrets of the trainer and sidecar images.</summary>
    [Field("Secrets for pulling the trainer and sidecar images.", MaxItems = 16)]
    public IReadOnlyList<V1LocalObjectReference>? ImagePullSecrets { get; init; }

    /// <summary>Extra env of the trainer container; the operator's variables win.</summary>
    [Field("Extra environment of the trainer container (core/v1 EnvVar); the operator's variables (BIT_*, POD_NAME, TMPDIR) win.", MaxItems = 128)]
    public IReadOnlyList<V1EnvVar>? Env { get; init; }

    /// <summary>Env from config maps and secrets.</summary>
    [Field("Environment of the trainer container from config maps and secrets (core/v1 EnvFromSource); explicit env wins.", MaxItems = 16)]
    public IReadOnlyList<V1EnvFromSource>? EnvFrom { get; init; }

    /// <summary>Extra volumes of the pod.</summary>
    [Field("Extra volumes of the pod (core/v1 Volume); the names plan, tmp, checkpoints, dataset and pretrained are the operator's.", MaxItems = 32)]
    public IReadOnlyList<V1Volume>? Volumes { get; init; }

    /// <summary>Mounts of the extra volumes in the trainer container.</summary>
    [Field("Mounts of the extra volumes in the trainer container (core/v1 VolumeMount); not at, above or inside a path the pod uses.", MaxItems = 32)]
    public IReadOnlyList<V1VolumeMount>? VolumeMounts { get; init; }

    /// <summary>Runtime class of the pod.</summary>
    [Field("RuntimeClass of the pod (e.g. nvidia, gvisor).", Pattern = ApiPatterns.DnsSubdomainOrEmpty, PatternHint = "a DNS-1123 subdomain", MaxLength = 253)]
    public string? RuntimeClassName { get; init; }

    /// <summary>Sidecars, run as native sidecars (init containers with restartPolicy Always).</summary>
    [Field("Sidecar containers (core/v1 Container), run as native sidecars (Kubernetes 1.29+): started before the trainer, stopped after it; they may mount the pod's own volumes (checkpoints, plan, tmp, dataset, pretrained) and the extra ones.", MaxItems = 8)]
    public IReadOnlyList<V1Container>? Sidecars { get; init; }
}
