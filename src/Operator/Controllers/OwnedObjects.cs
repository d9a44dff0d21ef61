using System.Globalization;
using BiT.Contracts;
using BiT.Contracts.Pods;
using BiT.Operator.Api;
using k8s.Models;

namespace BiT.Operator.Controllers;

/// <summary>
/// Builds the objects a job owns. Names are deterministic (a function of the job and the attempt), so that a
/// create repeated after a crash finds the object already there instead of making a second one.
/// </summary>
public static class OwnedObjects
{
    // The operator's own labels, annotation and finalizer are prefixed with the API group.
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedBy = "bit-operator";
    public const string JobUidLabel = ApiInfo.Group + "/job-uid";
    public const string JobNameLabel = ApiInfo.Group + "/job-name";
    public const string AttemptLabel = ApiInfo.Group + "/attempt";
    public const string PlanHashAnnotation = ApiInfo.Group + "/plan-hash";
    public const string GpuResource = "nvidia.com/gpu";
    public const string RoleLabel = ApiInfo.Group + "/role";
    public const string CleanupRole = "checkpoint-cleanup";

    /// <summary>The one finalizer: a job whose checkpoints live in an existing claim with onDelete Delete.</summary>
    public const string CleanupFinalizer = ApiInfo.Group + "/checkpoint-cleanup";

    public static string CleanupPodName(string job) => $"{job}-cleanup";

    public static bool IsCleanupPod(V1Pod pod) => pod.Metadata.Labels?.TryGetValue(RoleLabel, out var role) == true && role == CleanupRole;

    /// <summary>Only checkpoints in an existing claim need the API's help to go: a created claim goes with the job.</summary>
    public static bool NeedsCleanupFinalizer(JobSettings settings) =>
        settings.CheckpointVolume is { ClaimName: not null, OnDelete: Contracts.Api.CheckpointRetention.Delete };

    public static bool HasCleanupFinalizer(BiTJob job) => job.Metadata.Finalizers?.Contains(CleanupFinalizer) == true;

    public static string PlanConfigMapName(string job, string planHash) => $"{job}-plan-{planHash[..Math.Min(10, planHash.Length)].ToLowerInvariant()}";

    public static string CheckpointClaimName(string job) => $"{job}-checkpoints";

    public static string TrainerAccountName(string job) => $"{job}-trainer";

    public static string PodName(string job, int attempt) => $"{job}-run-{attempt.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The attempt number of a pod named by <see cref="PodName"/>, or 0.</summary>
    public static int AttemptOf(string job, string? podName)
    {
        var prefix = job + "-run-";
        return podName is not null && podName.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(podName.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : 0;
    }

    /// <summary>The checkpoint claim the job uses: its own existing claim, or the one the operator creates.</summary>
    public static string? ClaimFor(string job, JobSettings settings) =>
        settings.CheckpointVolume is null ? null : settings.CheckpointVolume.ClaimName ?? CheckpointClaimName(job);

    /// <summary>
    /// Where in its claim a job's checkpoints live: the root of a claim the operator made for it; a directory named
    /// after the job in an existing claim, which other jobs may share (their step-N.ckpt and final/ would collide).
    /// </summary>
    public static string? CheckpointSubPath(string job, JobSettings settings) =>
        settings.CheckpointVolume?.ClaimName is not null ? job : null;

    public static V1OwnerReference OwnerOf(BiTJob job) => new()
    {
        ApiVersion = job.ApiVersion,
        Kind = job.Kind,
        Name = job.Metadata.Name,
        Uid = job.Metadata.Uid,
        Controller = true,
        BlockOwnerDeletion = true,
    };

    private static V1ObjectMeta Meta(BiTJob job, string name, IDictionary<string, string>? extraLabels = null, bool owned = true)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ManagedByLabel] = ManagedBy,
            [JobUidLabel] = job.Metadata.Uid ?? "",
        };
        if (job.Metadata.Name.Length <= 63)
        {
            labels[JobNameLabel] = job.Metadata.Name;
        }

        foreach (var (k, v) in extraLabels ?? new Dictionary<string, string>())
        {
            labels[k] = v;
        }

        return new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = job.Metadata.NamespaceProperty,
            Labels = labels,
            OwnerReferences = owned ? [OwnerOf(job)] : null,
        };
    }

    public static V1ConfigMap PlanConfigMap(BiTJob job, PlannedJob plan)
    {
        var meta = Meta(job, PlanConfigMapName(job.Metadata.Name, plan.PlanHash));
        meta.Annotations = new Dictionary<string, string> { [PlanHashAnnotation] = plan.PlanHash };
        return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = meta,
            Data = new Dictionary<string, string> { [PodPaths.PlanFileName] = plan.PlanJson },
        };
    }

    public static V1PersistentVolumeClaim CheckpointClaim(BiTJob job, VolumeSettings volume) => new()
    {
        ApiVersion = "v1",
        Kind = "PersistentVolumeClaim",
        // onDelete Retain: no owner, so the claim (and the model in it) outlives the job.
        Metadata = Meta(job, CheckpointClaimName(job.Metadata.Name), owned: volume.OnDelete == Contracts.Api.CheckpointRetention.Delete),
        Spec = new V1PersistentVolumeClaimSpec
        {
            AccessModes = ["ReadWriteOnce"],
            StorageClassName = volume.StorageClassName,
            Resources = new V1VolumeResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new ResourceQuantity(volume.Size) },
            },
        },
    };

    public static V1ServiceAccount TrainerAccount(BiTJob job) => new()
    {
        ApiVersion = "v1",
        Kind = "ServiceAccount",
        Metadata = Meta(job, TrainerAccountName(job.Metadata.Name)),
    };

    /// <summary>The trainer may read its own job and write that job's status, nothing else.</summary>
    public static V1Role TrainerRole(BiTJob job, JobKind kind) => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1",
        Kind = "Role",
        Metadata = Meta(job, TrainerAccountName(job.Metadata.Name)),
        Rules =
        [
            new V1PolicyRule
            {
                ApiGroups = [ApiInfo.Group],
                Resources = [kind.Plural + "/status"],
                ResourceNames = [job.Metadata.Name],
                Verbs = ["get", "patch", "update"],
            },
            new V1PolicyRule
            {
                ApiGroups = [ApiInfo.Group],
                Resources = [kind.Plural],
                ResourceNames = [job.Metadata.Name],
                Verbs = ["get"],
            },
        ],
    };

    public static V1RoleBinding TrainerRoleBinding(BiTJob job) => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1",
        Kind = "RoleBinding",
        Metadata = Meta(job, TrainerAccountName(job.Metadata.Name)),
        RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = TrainerAccountName(job.Metadata.Name) },
        Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = TrainerAccountName(job.Metadata.Name), NamespaceProperty = job.Metadata.NamespaceProperty }],
    };

    /// <summary>Where the upstream pre-training job's output lives, for a fine-tune job that starts from it.</summary>
    public sealed record PretrainedMount(string ClaimName, string? SubPath);

    public static V1Pod TrainerPod(
        BiTJob job,
        JobKind kind,
        JobSettings settings,
        PlannedJob plan,
        int attempt,
        string image,
        PretrainedMount? pretrained,
        ControllerOptions options)
    {
        var name = PodName(job.Metadata.Name, attempt);
        var meta = Meta(job, name, new Dictionary<string, string>
        {
            ["app.kubernetes.io/name"] = "bit-trainer",
            [AttemptLabel] = attempt.ToString(CultureInfo.InvariantCulture),
        });
        meta.Annotations = new Dictionary<string, string> { [PlanHashAnnotation] = plan.PlanHash };

        var volumes = new List<V1Volume>
        {
            new() { Name = PodPaths.PlanVolume, ConfigMap = new V1ConfigMapVolumeSource { Name = PlanConfigMapName(job.Metadata.Name, plan.PlanHash) } },
            new() { Name = PodPaths.TmpVolume, EmptyDir = new V1EmptyDirVolumeSource() },
        };
        var mounts = new List<V1VolumeMount>
        {
            new() { Name = "plan", MountPath = PodPaths.PlanDirectory, ReadOnlyProperty = true },
            new() { Name = "tmp", MountPath = PodPaths.Tmp },
            new() { Name = "checkpoints", MountPath = PodPaths.Checkpoints, SubPath = CheckpointSubPath(job.Metadata.Name, settings) },
        };

        // Without a claim the checkpoints live as long as the pod's node-local scratch: restarts then begin anew.
        volumes.Add(ClaimFor(job.Metadata.Name, settings) is { } claim
            ? new V1Volume { Name = "checkpoints", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = claim } }
            : new V1Volume { Name = "checkpoints", EmptyDir = new V1EmptyDirVolumeSource() });

        if (settings.DatasetClaim is { } dataClaim && settings.DatasetPath is { } dataPath)
        {
            volumes.Add(new V1Volume { Name = "dataset", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = dataClaim, ReadOnlyProperty = true } });
            mounts.Add(new V1VolumeMount { Name = "dataset", MountPath = dataPath, ReadOnlyProperty = true });
        }

        if (pretrained is not null)
        {
            volumes.Add(new V1Volume { Name = "pretrained", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = pretrained.ClaimName, ReadOnlyProperty = true } });
            mounts.Add(new V1VolumeMount { Name = "pretrained", MountPath = PodPaths.Pretrained, SubPath = pretrained.SubPath, ReadOnlyProperty = true });
        }

        var requests = new Dictionary<string, ResourceQuantity>();
        var limits = new Dictionary<string, ResourceQuantity>();
        if (settings.Resources.Cpu is { } cpu)
        {
            requests["cpu"] = new ResourceQuantity(cpu);
        }

        if (settings.Resources.Memory is { } memory)
        {
            requests["memory"] = new ResourceQuantity(memory);
            limits["memory"] = new ResourceQuantity(memory);
        }

        if (settings.Resources.Gpus > 0)
        {
            // Extended resources must be requested and limited alike.
            var gpus = new ResourceQuantity(settings.Resources.Gpus.ToString(CultureInfo.InvariantCulture));
            requests[GpuResource] = gpus;
            limits[GpuResource] = gpus;
        }

        var env = new List<V1EnvVar>
        {
            new() { Name = TrainerEnv.JobNamespace, Value = job.Metadata.NamespaceProperty },
            new() { Name = TrainerEnv.JobName, Value = job.Metadata.Name },
            new() { Name = TrainerEnv.JobKind, Value = kind.Kind },
            new() { Name = TrainerEnv.JobUid, Value = job.Metadata.Uid },
            new() { Name = TrainerEnv.Plan, Value = PodPaths.PlanFile },
            new() { Name = TrainerEnv.CheckpointDirectory, Value = PodPaths.Checkpoints },
            new() { Name = TrainerEnv.Attempt, Value = attempt.ToString(CultureInfo.InvariantCulture) },
            new() { Name = TrainerEnv.MetricsPort, Value = options.TrainerMetricsPort.ToString(CultureInfo.InvariantCulture) },
            new() { Name = TrainerEnv.PodName, ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
            new() { Name = TrainerEnv.TempDirectory, Value = PodPaths.Tmp },
        };
        env.AddRange(options.Weights.Env());

        var pod = new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = meta,
            Spec = new V1PodSpec
            {
                RestartPolicy = "Never",
                ServiceAccountName = TrainerAccountName(job.Metadata.Name),
                AutomountServiceAccountToken = true,
                TerminationGracePeriodSeconds = options.TerminationGracePeriodSeconds,
                NodeSelector = settings.Resources.NodeSelector.Count > 0 ? new Dictionary<string, string>(settings.Resources.NodeSelector) : null,
                Tolerations = settings.Resources.Tolerations.Count > 0 ? [.. settings.Resources.Tolerations] : null,
                PriorityClassName = settings.Resources.PriorityClassName,
                SecurityContext = PodSecurity(options),
                Volumes = volumes,
                Containers =
                [
                    new V1Container
                    {
                        Name = PodPaths.TrainerContainer,
                        Image = image,
                        Args = ["train", "--plan", PodPaths.PlanFile],
                        Env = env,
                        Ports = [new V1ContainerPort { Name = "metrics", ContainerPort = options.TrainerMetricsPort }],
                        Resources = new V1ResourceRequirements
                        {
                            Requests = requests.Count > 0 ? requests : null,
                            Limits = limits.Count > 0 ? limits : null,
                        },
                        VolumeMounts = mounts,
                        TerminationMessagePolicy = "FallbackToLogsOnError",
                        SecurityContext = ContainerSecurity(),
                    },
                ],
            },
        };
        PodTemplateMerge.Apply(pod, settings.PodTemplate, job.Metadata.Labels);
        return pod;
    }

    /// <summary>
    /// Empties the job's directory of its existing checkpoint claim (<c>bit-trainer clean</c>), for a job deleted with
    /// onDelete Delete. No API access and no GPU; the same restricted security as the trainer.
    /// </summary>
    public static V1Pod CleanupPod(BiTJob job, JobSettings settings, string image, ControllerOptions options)
    {
        var claim = settings.CheckpointVolume?.ClaimName ?? throw new ArgumentException("only an existing claim is cleaned by a pod", nameof(settings));
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = Meta(job, CleanupPodName(job.Metadata.Name), new Dictionary<string, string> { [RoleLabel] = CleanupRole }),
            Spec = new V1PodSpec
            {
                RestartPolicy = "Never",
                ServiceAccountName = "default",
                AutomountServiceAccountToken = false,
                TerminationGracePeriodSeconds = 30,
                SecurityContext = PodSecurity(options),
                Volumes = [new V1Volume { Name = "checkpoints", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = claim } }],
                Containers =
                [
                    new V1Container
                    {
                        Name = "clean",
                        Image = image,
                        Args = ["clean", "--dir", PodPaths.Checkpoints],
                        VolumeMounts = [new V1VolumeMount { Name = "checkpoints", MountPath = PodPaths.Checkpoints, SubPath = CheckpointSubPath(job.Metadata.Name, settings) }],
                        Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("128Mi") } },
                        TerminationMessagePolicy = "FallbackToLogsOnError",
                        SecurityContext = ContainerSecurity(),
                    },
                ],
            },
        };
    }

    /// <summary>Non-root with the configured UID/GID (also owning mounted volumes), seccomp RuntimeDefault.</summary>
    private static V1PodSecurityContext PodSecurity(ControllerOptions options) => new()
    {
        RunAsNonRoot = true,
        RunAsUser = options.RunAsUser,
        RunAsGroup = options.RunAsUser,
        FsGroup = options.RunAsUser,
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };

    /// <summary>The restricted Pod Security Standard for a container: no privilege, read-only root, no capabilities.</summary>
    internal static V1SecurityContext ContainerSecurity() => new()
    {
        RunAsNonRoot = true,
        AllowPrivilegeEscalation = false,
        ReadOnlyRootFilesystem = true,
        Privileged = false,
        Capabilities = new V1Capabilities { Drop = ["ALL"] },
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };
}
