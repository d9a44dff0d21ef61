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

    /// <summary>Kubernetes' default terminationMessagePath.</summary>
    public const string TerminationLog = "/dev/termination-log";

    /// <summary>The service account's token and CA, mounted by Kubernetes.</summary>
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";
}
