namespace BiT.Contracts.Pods;

/// <summary>Where a trainer pod has things, so that the plan names paths as the trainer will see them.</summary>
public static class PodPaths
{
    /// <summary>The name of the trainer's container.</summary>
    public const string TrainerContainer = "trainer";

    public const string PlanDirectory = "/etc/bit";

    public const string PlanFileName = "plan.json";

    public const string PlanFile = PlanDirectory + "/" + PlanFileName;

    public const string Checkpoints = "/checkpoints";

    /// <summary>A fine-tune job's upstream pre-training output, mounted read-only.</summary>
    public const string Pretrained = "/pretrained";

    /// <summary>Where the trainer writes its final model, relative to its checkpoint directory.</summary>
    public const string FinalModel = "final/model.npz";

    /// <summary>
    /// Writable scratch (the root filesystem is read-only); TMPDIR points here. Not /tmp: the test cluster's kubelet
    /// maps every container path under a mount onto the host, and the host paths a test puts into a spec (the
    /// repository's data, checked out under /tmp in CI) would be mapped onto the scratch volume too.
    /// </summary>
    public const string Tmp = "/scratch";

    /// <summary>
    /// The names of the pod's own volumes (plan, scratch, checkpoints, a dataset claim, the upstream output): a user's
    /// volume (<c>spec.podTemplate.volumes</c>) may not take them; a sidecar may mount them.
    /// </summary>
    public static readonly IReadOnlyList<string> ReservedVolumeNames = [PlanVolume, TmpVolume, CheckpointsVolume, DatasetVolume, PretrainedVolume];

    public const string PlanVolume = "plan";

    public const string TmpVolume = "tmp";

    public const string CheckpointsVolume = "checkpoints";

    public const string DatasetVolume = "dataset";

    public const string PretrainedVolume = "pretrained";

    /// <summary>Kubernetes' default terminationMessagePath.</summary>
    public const string TerminationLog = "/dev/termination-log";

    /// <summary>The service account's token and CA, mounted by Kubernetes.</summary>
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>The image's own files: the trainer binary and its native libraries.</summary>
    public const string App = "/app";

    /// <summary>
    /// Paths a user's volume may not be mounted at, above or inside: the pod's own mounts (plan, checkpoints, scratch,
    /// the service account's token, the termination log), the image's binary, and the system directories the binary
    /// loads from. Mounting a claim over any of them would shadow what the pod runs or reads.
    /// </summary>
    public static readonly IReadOnlyList<string> Reserved =
    [
        App, PlanDirectory, Checkpoints, Pretrained, Tmp, ServiceAccountDirectory, TerminationLog,
        "/etc", "/dev", "/proc", "/sys", "/run", "/var/run", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/boot",
    ];

    /// <summary>Why a volume cannot be mounted at <paramref name="mountPath"/>, or null when it can.</summary>
    public static string? MountProblem(string mountPath)
    {
        ArgumentNullException.ThrowIfNull(mountPath);
        if (!mountPath.StartsWith('/'))
        {
            return "must be an absolute path (the claim is mounted there)";
        }
        var segments = mountPath.Split('/')[1..];
        if (mountPath == "/" || segments.Any(s => s is "" or "." or ".."))
        {
            return mountPath == "/" ? "must not be '/' (the claim would be mounted over the whole pod)"
                : "must be a normalised path (no empty, '.' or '..' segments, no trailing '/')";
        }
        foreach (var reserved in Reserved)
        {
            if (mountPath == reserved || reserved.StartsWith(mountPath + "/", StringComparison.Ordinal)
                || mountPath.StartsWith(reserved + "/", StringComparison.Ordinal))
            {
                return $"must not be at, above or inside {reserved}, which the trainer pod uses";
            }
        }
        return null;
    }
}
