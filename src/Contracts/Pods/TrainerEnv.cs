namespace BiT.Contracts.Pods;

/// <summary>
/// The environment variables of a trainer pod (docs/api.md, "Pod environment"): the operator sets them, the trainer
/// reads them, both by these names.
/// </summary>
public static class TrainerEnv
{
    /// <summary>
    /// Every name above: the operator's, which a user's <c>spec.podTemplate.env</c> cannot override (the operator's
    /// value wins).
    /// </summary>
    public static IReadOnlySet<string> All { get; } = typeof(TrainerEnv)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>Namespace of the job the pod runs.</summary>
    public const string JobNamespace = "BIT_JOB_NAMESPACE";

    /// <summary>Name of the job.</summary>
    public const string JobName = "BIT_JOB_NAME";

    /// <summary>Kind of the job (<see cref="ApiInfo.FineTuneKind"/> or <see cref="ApiInfo.PretrainKind"/>).</summary>
    public const string JobKind = "BIT_JOB_KIND";

    /// <summary>UID of the job.</summary>
    public const string JobUid = "BIT_JOB_UID";

    /// <summary>Path of the resolved plan (<see cref="PodPaths.PlanFile"/>).</summary>
    public const string Plan = "BIT_PLAN";

    /// <summary>The checkpoint directory (<see cref="PodPaths.Checkpoints"/>), the pod's work directory.</summary>
    public const string CheckpointDirectory = "BIT_CHECKPOINT_DIR";

    /// <summary>A work directory that overrides <see cref="CheckpointDirectory"/> (local runs of <c>train</c>).</summary>
    public const string WorkDirectory = "BIT_WORKDIR";

    /// <summary>The attempt number, 1 for the first pod of a job.</summary>
    public const string Attempt = "BIT_ATTEMPT";

    /// <summary>Port of the trainer's Prometheus endpoint.</summary>
    public const string MetricsPort = "BIT_METRICS_PORT";

    /// <summary>The pod's own name (from the downward API).</summary>
    public const string PodName = "POD_NAME";

    /// <summary>Writable scratch (<see cref="PodPaths.Tmp"/>); the root filesystem is read-only.</summary>
    public const string TempDirectory = "TMPDIR";

    /// <summary>The API server to report status to, instead of the in-cluster service (tests, local runs).</summary>
    public const string KubeApi = "BIT_KUBE_API";

    /// <summary>The bearer token file for <see cref="KubeApi"/> (default: the service account's).</summary>
    public const string KubeTokenFile = "BIT_KUBE_TOKEN_FILE";

    /// <summary>The CA bundle of <see cref="KubeApi"/> (default: the service account's).</summary>
    public const string KubeCaFile = "BIT_KUBE_CA_FILE";

    /// <summary>Where the trainer writes its termination message (default <see cref="PodPaths.TerminationLog"/>).</summary>
    public const string TerminationLog = "BIT_TERMINATION_LOG";

    /// <summary>"true": the trainer may fetch weights over plain http (the operator's weights policy).</summary>
    public const string WeightsAllowHttp = "BIT_WEIGHTS_ALLOW_HTTP";

    /// <summary>"true": weights hosts may be at loopback, link-local or private addresses.</summary>
    public const string WeightsAllowPrivateNetworks = "BIT_WEIGHTS_ALLOW_PRIVATE_NETWORKS";

    /// <summary>Comma-separated hosts (as written in URLs) that may be at non-public addresses.</summary>
    public const string WeightsPrivateHosts = "BIT_WEIGHTS_PRIVATE_HOSTS";

    /// <summary>The largest weights file the trainer downloads, in bytes.</summary>
    public const string WeightsMaxBytes = "BIT_WEIGHTS_MAX_BYTES";

    // Data-parallel training: the names torchrun and Kubeflow's PyTorchJob set (docs/distributed.md), so a pod that
    // JobSet or PyTorchJob starts can run the trainer too.

    /// <summary>Address of rank 0's host (the rendezvous host).</summary>
    public const string MasterAddress = "MASTER_ADDR";

    /// <summary>Rendezvous port on <see cref="MasterAddress"/>.</summary>
    public const string MasterPort = "MASTER_PORT";

    /// <summary>Number of processes (ranks) in the job; absent or 1 = one process, no group.</summary>
    public const string WorldSize = "WORLD_SIZE";

    /// <summary>This process's rank in [0, WORLD_SIZE); rank 0 writes checkpoints, the model, metrics and status.</summary>
    public const string Rank = "RANK";

    /// <summary>This process's rank among those of its pod (its GPU index).</summary>
    public const string LocalRank = "LOCAL_RANK";

    /// <summary>Processes per pod.</summary>
    public const string LocalWorldSize = "LOCAL_WORLD_SIZE";

    /// <summary>The pod's index among the job's pods.</summary>
    public const string NodeRank = "NODE_RANK";

    /// <summary>A directory every rank sees, holding Gloo's file store for the rendezvous (docs/distributed.md).</summary>
    public const string RendezvousDirectory = "BIT_RENDEZVOUS_DIR";

    /// <summary>Names one rendezvous (one attempt) inside <see cref="RendezvousDirectory"/>; default MASTER_ADDR:MASTER_PORT.</summary>
    public const string RendezvousId = "BIT_RENDEZVOUS_ID";

    /// <summary>The address this rank's peers reach it on (default 127.0.0.1 when MASTER_ADDR is local, else the host name).</summary>
    public const string RankHost = "BIT_RANK_HOST";

    /// <summary>
    /// "true": <c>--processes N</c> gives each local rank one GPU, the LOCAL_RANK-th of those the pod sees (through
    /// CUDA_VISIBLE_DEVICES), as the operator asks for a pod of several GPUs.
    /// </summary>
    public const string GpuPerRank = "BIT_GPU_PER_RANK";

    /// <summary>Seconds a collective (and the rendezvous) may wait for a peer before the group fails (default 300).</summary>
    public const string CollectiveTimeoutSeconds = "BIT_COLLECTIVE_TIMEOUT_SECONDS";
}
