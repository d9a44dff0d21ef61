using BiT.Contracts.Pods;

namespace BiT.Trainer.Telemetry;

/// <summary>
/// What a trainer pod learns from its environment (<see cref="TrainerEnv"/>; docs/api.md, "Pod environment"). The API
/// server is <see cref="TrainerEnv.KubeApi"/> when set (tests, local runs), else the in-cluster service
/// (<c>KUBERNETES_SERVICE_HOST</c>/<c>_PORT</c>) with the service account's token and CA.
/// </summary>
public sealed record PodEnvironment(
    Uri? ApiServer,
    string TokenFile,
    string? CaFile,
    string? Namespace,
    string? JobName,
    string? JobKind,
    string? PlanPath,
    string? WorkDirectory,
    int? MetricsPort,
    string? TerminationLog = null)
{
    public const string ServiceAccountDirectory = PodPaths.ServiceAccountDirectory;

    public const string DefaultTerminationLog = PodPaths.TerminationLog;

    /// <summary>True when the API server comes from the in-cluster service, not from <see cref="TrainerEnv.KubeApi"/>.</summary>
    public bool InCluster { get; init; }

    /// <summary>The pod's own name (<see cref="TrainerEnv.PodName"/>), to say which pod resumed from which checkpoint.</summary>
    public string? PodName { get; init; }

    public bool CanReportStatus => ApiServer is not null && !string.IsNullOrEmpty(Namespace) && !string.IsNullOrEmpty(JobName) && !string.IsNullOrEmpty(JobKind);

    public static PodEnvironment From(Func<string, string?> env)
    {
        Uri? api = null;
        var inCluster = false;
        if (Value(env, TrainerEnv.KubeApi) is { } explicitApi)
        {
            api = new Uri(explicitApi);
        }
        else if (Value(env, "KUBERNETES_SERVICE_HOST") is { } host)
        {
            var port = Value(env, "KUBERNETES_SERVICE_PORT") ?? "443";
            api = new Uri($"https://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}");
            inCluster = true;
        }
        var defaultCa = Path.Combine(ServiceAccountDirectory, "ca.crt");
        return new PodEnvironment(
            api,
            Value(env, TrainerEnv.KubeTokenFile) ?? Path.Combine(ServiceAccountDirectory, "token"),
            Value(env, TrainerEnv.KubeCaFile) ?? (File.Exists(defaultCa) ? defaultCa : null),
            Value(env, TrainerEnv.JobNamespace),
            Value(env, TrainerEnv.JobName),
            Value(env, TrainerEnv.JobKind),
            Value(env, TrainerEnv.Plan),
            Value(env, TrainerEnv.WorkDirectory) ?? Value(env, TrainerEnv.CheckpointDirectory),
            int.TryParse(Value(env, TrainerEnv.MetricsPort), out var p) && p > 0 ? p : null,
            // Kubernetes' default terminationMessagePath; present only inside a container.
            Value(env, TrainerEnv.TerminationLog) ?? (File.Exists(DefaultTerminationLog) ? DefaultTerminationLog : null))
        {
            InCluster = inCluster,
            PodName = Value(env, TrainerEnv.PodName),
        };
    }

    public static PodEnvironment FromProcess() => From(Environment.GetEnvironmentVariable);

    private static string? Value(Func<string, string?> env, string name) => env(name) is { Length: > 0 } v ? v : null;
}
