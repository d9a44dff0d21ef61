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
    public const string WorkerLabel = ApiInfo.Group + "/worker";

    // Kueue's plain-pod groups: the gang of one attempt is admitted as one workload (docs/distributed.md).
    public const string KueueQueueLabel = "kueue.x-k8s.io/queue-name";
    public const string KueueGroupLabel = "kueue.x-k8s.io/pod-group-name";
    public const string KueueGroupCountAnnotation = "kueue.x-k8s.io/pod-group-total-count";
    public const string KueueRetriableAnnotation = "kueue.x-k8s.io/retriable-in-group";

    // Gang schedulers: the scheduler-plugins coscheduling plugin reads a label, Volcano an annotation.
    public const string CoschedulingGroupLabel = "scheduling.x-k8s.io/pod-group";
    public const string VolcanoGroupAnnotation = "scheduling.k8s.io/group-name";
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

    public static bool HasCleanupFinalizer(JobObject job) => job.Metadata.Finalizers?.Contains(CleanupFinalizer) == true;

    public static string PlanConfigMapName(string job, string planHash) => $"{job}-plan-{planHash[..Math.Min(10, planHash.Length)].ToLowerInvariant()}";

    public static string CheckpointClaimName(string job) => $"{job}-checkpoints";

    public static string TrainerAccountName(string job) => $"{job}-trainer";

    public static string PodName(string job, int attempt) => $"{job}-run-{attempt.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// A worker's pod: <c>JOB-run-ATTEMPT-WORKER</c> in a gang, today's <c>JOB-run-ATTEMPT</c> for one worker. At most
    /// <c>-run-10001-63</c> after the job's name, within <see cref="Contracts.Api.ObjectMeta.MaxNameLength"/>'s margin.
    /// </summary>
    public static string PodName(string job, int attempt, int worker, int workers) =>
        workers <= 1 ? PodName(job, attempt) : $"{PodName(job, attempt)}-{worker.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The attempt number of a pod named by <see cref="PodName(string, int)"/> (or a gang's), or 0.</summary>
    public static int AttemptOf(string job, string? podName) => Parse(job, podName).Attempt;

    /// <summary>The worker index (NODE_RANK) of a pod named by <see cref="PodName(string, int, int, int)"/>; 0 for one worker.</summary>
    public static int WorkerOf(string job, string? podName) => Parse(job, podName).Worker;

    private static (int Attempt, int Worker) Parse(string job, string? podName)
    {
        var prefix = job + "-run-";
        if (podName is null || !podName.StartsWith(prefix, StringComparison.Ordinal))
        {
            return (0, 0);
        }

        var rest = podName.AsSpan(prefix.Length);
        var dash = rest.IndexOf('-');
        var attemptText = dash < 0 ? rest : rest[..dash];
        if (!int.TryParse(attemptText, NumberStyles.None, CultureInfo.InvariantCulture, out var attempt))
        {
            return (0, 0);
        }

        if (dash < 0)
        {
            return (attempt, 0);
        }

        return int.TryParse(rest[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var worker) ? (attempt, worker) : (0, 0);
    }

    /// <summary>The headless Service that gives a gang's pods their DNS names (a DNS-1035 label).</summary>
    public static string GangServiceName(string job) => DnsLabel($"{job}-workers");

    /// <summary>A worker pod's <c>spec.hostname</c>: its name, or a shortened form when that is no DNS label.</summary>
    public static string WorkerHostname(string job, int attempt, int worker) => DnsLabel(PodName(job, attempt, worker, 2));

    /// <summary>Rank 0's address as every worker reaches it: <c>HOSTNAME.SERVICE</c>, resolved through the pod's DNS search path.</summary>
    public static string MasterAddress(string job, int attempt) => $"{WorkerHostname(job, attempt, 0)}.{GangServiceName(job)}";

    /// <summary>One attempt's gang, as Kueue and the gang schedulers name it (a label value).</summary>
    public static string PodGroupName(string job, int attempt) => DnsLabel(PodName(job, attempt));

    /// <summary>
    /// <paramref name="candidate"/> when it is a DNS-1035 label (at most 63 characters, a letter first), else its first
    /// characters made one, with ten hex digits of its SHA-256 so that different long names stay different.
    /// </summary>
    public static string DnsLabel(string candidate)
    {
        if (candidate.Length <= 63 && IsDnsLabel(candidate))
        {
            return candidate;
        }

        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(candidate)))[..10];
        var cleaned = new string([.. candidate.Select(ch => ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? ch : '-')]);
        if (cleaned.Length == 0 || cleaned[0] is not (>= 'a' and <= 'z'))
        {
            cleaned = "j" + cleaned;
        }

        var head = cleaned[..Math.Min(cleaned.Length, 52)].TrimEnd('-');
        return $"{head}-{hash}";
    }

    private static bool IsDnsLabel(string s) =>
        s.Length > 0 && s[0] is >= 'a' and <= 'z' && s[^1] is (>= 'a' and <= 'z') or (>= '0' and <= '9')
        && s.All(ch => ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    /// <summary>The checkpoint claim the job uses: its own existing claim, or the one the operator creates.</summary>
    public static string? ClaimFor(string job, JobSettings settings) =>
        settings.CheckpointVolume is null ? null : settings.CheckpointVolume.ClaimName ?? CheckpointClaimName(job);

    /// <summary>
    /// Where in its claim a job's checkpoints live: the root of a claim the operator made for it; a directory named
    /// after the job in an existing claim, which other jobs may share (their step-N.ckpt and final/ would collide).
    /// </summary>
    public static string? CheckpointSubPath(string job, JobSettings settings) =>
        settings.CheckpointVolume?.ClaimName is not null ? job : null;

    public static V1OwnerReference OwnerOf(JobObject job) => new()
    {
        ApiVersion = job.ApiVersion,
        Kind = job.Kind,
        Name = job.Metadata.Name,
        Uid = job.Metadata.Uid,
        Controller = true,
        BlockOwnerDeletion = true,
    };

    private static V1ObjectMeta Meta(JobObject job, string name, IDictionary<string, string>? extraLabels = null, bool owned = true)
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

    public static V1ConfigMap PlanConfigMap(JobObject job, PlannedJob plan)
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

    public static V1PersistentVolumeClaim CheckpointClaim(JobObject job, VolumeSettings volume) => new()
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

    public static V1ServiceAccount TrainerAccount(JobObject job) => new()
    {
        ApiVersion = "v1",
        Kind = "ServiceAccount",
        Metadata = Meta(job, TrainerAccountName(job.Metadata.Name)),
    };

    /// <summary>The trainer may read its own job and write that job's status, nothing else.</summary>
    public static V1Role TrainerRole(JobObject job, JobKind kind) => new()
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

    public static V1RoleBinding TrainerRoleBinding(JobObject job) => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1",
        Kind = "RoleBinding",
        Metadata = Meta(job, TrainerAccountName(job.Metadata.Name)),
        RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = TrainerAccountName(job.Metadata.Name) },
        Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = TrainerAccountName(job.Metadata.Name), NamespaceProperty = job.Metadata.NamespaceProperty }],
    };

    /// <summary>
    /// A gang's headless Service: no virtual IP, one DNS record per worker pod (its hostname under this subdomain), and
    /// published before the pods are ready, because rank 0 must be reachable while every rank is still starting.
    /// It selects the job's trainer pods; ended pods of an earlier attempt are not endpoints.
    /// </summary>
    public static V1Service GangService(JobObject job, int rendezvousPort) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Meta(job, GangServiceName(job.Metadata.Name)),
        Spec = new V1ServiceSpec
        {
            ClusterIP = "None",
            PublishNotReadyAddresses = true,
            Selector = new Dictionary<string, string> { [JobUidLabel] = job.Metadata.Uid ?? "", ["app.kubernetes.io/name"] = "bit-trainer" },
            Ports = [new V1ServicePort { Name = "rendezvous", Port = rendezvousPort, TargetPort = rendezvousPort, Protocol = "TCP" }],
        },
    };

    /// <summary>The PodGroup a gang scheduler places all or nothing: one per attempt, minMember = the workers.</summary>
    public static PodGroupObject PodGroup(JobObject job, PodGroupKind kind, int attempt, int workers)
    {
        var (apiVersion, _) = PodGroupObject.Api(kind);
        return new PodGroupObject
        {
            ApiVersion = apiVersion,
            Kind = "PodGroup",
            Metadata = Meta(job, PodGroupName(job.Metadata.Name, attempt)),
            Spec = new PodGroupSpec { MinMember = workers },
        };
    }

    /// <summary>Where the upstream pre-training job's output lives, for a fine-tune job that starts from it.</summary>
    public sealed record PretrainedMount(string ClaimName, string? SubPath);

    /// <summary>
    /// What an attempt's trainer pods are made from: the job and its settings, the resolved plan, the attempt number,
    /// the trainer image and, for a fine-tune job that starts from one, the upstream pre-training job's output.
    /// </summary>
    public sealed record TrainerPodSource(
        JobObject Job,
        JobKind Kind,
        JobSettings Settings,
        PlannedJob Plan,
        int Attempt,
        string Image,
        PretrainedMount? Pretrained);

    /// <summary>The trainer pod of <paramref name="worker"/> (0 for a job of one pod) in the attempt <paramref name="source"/> describes.</summary>
    public static V1Pod TrainerPod(TrainerPodSource source, ControllerOptions options, int worker = 0)
    {
        var (job, kind, settings, plan, attempt, image, pretrained) = source;
        var r = settings.Resources;
        var jobName = job.Metadata.Name;
        var name = PodName(jobName, attempt, worker, r.Workers);
        var labels = new Dictionary<string, string>
        {
            ["app.kubernetes.io/name"] = "bit-trainer",
            [AttemptLabel] = attempt.ToString(CultureInfo.InvariantCulture),
        };
        var annotations = new Dictionary<string, string> { [PlanHashAnnotation] = plan.PlanHash };
        if (r.IsGang)
        {
            var group = PodGroupName(jobName, attempt);
            labels[WorkerLabel] = worker.ToString(CultureInfo.InvariantCulture);
            // Kueue admits the attempt's pods as one workload; a failed pod ends the group (the operator starts the
            // next attempt as a new group), it is not replaced within it.
            labels[KueueGroupLabel] = group;
            annotations[KueueGroupCountAnnotation] = r.Workers.ToString(CultureInfo.InvariantCulture);
            annotations[KueueRetriableAnnotation] = "false";
            switch (r.PodGroup)
            {
                case PodGroupKind.Coscheduling:
                    labels[CoschedulingGroupLabel] = group;
                    break;
                case PodGroupKind.Volcano:
                    annotations[VolcanoGroupAnnotation] = group;
                    break;
                default:
                    break;
            }
        }

        var meta = Meta(job, name, labels);
        meta.Annotations = annotations;

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

        // Without a claim the checkpoints live as long as the pod's node-local scratch: restarts then begin anew. In a
        // gang only worker 0 (rank 0) reads and writes checkpoints, so only its pod mounts the claim: the other workers
        // may run on other nodes whatever the claim's access mode.
        volumes.Add(worker == 0 && ClaimFor(job.Metadata.Name, settings) is { } claim
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
        if (r.IsGang)
        {
            env.AddRange(RendezvousEnv(jobName, job.Metadata.Uid, attempt, worker, r, options));
        }

        if (r.Gpus > 1)
        {
            env.Add(new V1EnvVar { Name = TrainerEnv.GpuPerRank, Value = "true" });
        }

        List<string> args = r.ProcessesPerPod > 1
            ? ["train", "--plan", PodPaths.PlanFile, "--processes", r.ProcessesPerPod.ToString(CultureInfo.InvariantCulture)]
            : ["train", "--plan", PodPaths.PlanFile];

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
                SchedulerName = r.SchedulerName,
                Hostname = r.IsGang ? WorkerHostname(jobName, attempt, worker) : null,
                Subdomain = r.IsGang ? GangServiceName(jobName) : null,
                SecurityContext = PodSecurity(options),
                Volumes = volumes,
                Containers =
                [
                    new V1Container
                    {
                        Name = PodPaths.TrainerContainer,
                        Image = image,
                        Args = args,
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
    /// torchrun's contract for one worker of a gang: rank 0 serves the rendezvous store at MASTER_ADDR:MASTER_PORT (its
    /// DNS name under the headless Service), every rank announces the pod's IP to its peers. A pod of one process is
    /// rank NODE_RANK; a pod of several starts them with <c>--processes</c>, which numbers them from NODE_RANK.
    /// </summary>
    private static IEnumerable<V1EnvVar> RendezvousEnv(string job, string? uid, int attempt, int worker, ResourceSettings r, ControllerOptions options)
    {
        yield return new V1EnvVar { Name = TrainerEnv.MasterAddress, Value = MasterAddress(job, attempt) };
        yield return new V1EnvVar { Name = TrainerEnv.MasterPort, Value = options.RendezvousPort.ToString(CultureInfo.InvariantCulture) };
        yield return new V1EnvVar { Name = TrainerEnv.WorldSize, Value = r.WorldSize.ToString(CultureInfo.InvariantCulture) };
        yield return new V1EnvVar { Name = TrainerEnv.NodeRank, Value = worker.ToString(CultureInfo.InvariantCulture) };
        yield return new V1EnvVar { Name = TrainerEnv.LocalWorldSize, Value = r.ProcessesPerPod.ToString(CultureInfo.InvariantCulture) };
        if (r.ProcessesPerPod == 1)
        {
            yield return new V1EnvVar { Name = TrainerEnv.Rank, Value = worker.ToString(CultureInfo.InvariantCulture) };
            yield return new V1EnvVar { Name = TrainerEnv.LocalRank, Value = "0" };
        }

        yield return new V1EnvVar { Name = TrainerEnv.RendezvousId, Value = $"{uid}-{attempt.ToString(CultureInfo.InvariantCulture)}" };
        yield return new V1EnvVar { Name = TrainerEnv.RankHost, ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } };
    }

    /// <summary>
    /// Empties the job's directory of its existing checkpoint claim (<c>bit-trainer clean</c>), for a job deleted with
    /// onDelete Delete. No API access and no GPU; the same restricted security as the trainer.
    /// </summary>
    public static V1Pod CleanupPod(JobObject job, JobSettings settings, string image, ControllerOptions options)
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
