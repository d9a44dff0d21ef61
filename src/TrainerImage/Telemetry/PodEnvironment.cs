namespace BiT.Trainer.Telemetry;

/// <summary>
/// What a trainer pod learns from its environment (docs/api.md, "Pod environment"). The API server defaults to the
/// in-cluster service (<c>KUBERNETES_SERVICE_HOST</c>/<c>_PORT</c>) and the service account's token and CA.
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
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    public const string DefaultTerminationLog = "/dev/termination-log";

    public bool CanReportStatus => ApiServer is not null && !string.IsNullOrEmpty(Namespace) && !string.IsNullOrEmpty(JobName) && !string.IsNullOrEmpty(JobKind);

    public static PodEnvironment From(Func<string, string?> env)
    {
        Uri? api = null;
        if (Value(env, "BIT_KUBE_API") is { } explicitApi)
        {
            api = new Uri(explicitApi);
        }
        else if (Value(env, "KUBERNETES_SERVICE_HOST") is { } host)
        {
            var port = Value(env, "KUBERNETES_SERVICE_PORT") ?? "443";
            api = new Uri($"https://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}");
        }
        var defaultCa = Path.Combine(ServiceAccountDirectory, "ca.crt");
        return new PodEnvironment(
            api,
            Value(env, "BIT_KUBE_TOKEN_FILE") ?? Path.Combine(ServiceAccountDirectory, "token"),
            Value(env, "BIT_KUBE_CA_FILE") ?? (File.Exists(defaultCa) ? defaultCa : null),
            Value(env, "BIT_JOB_NAMESPACE"),
            Value(env, "BIT_JOB_NAME"),
            Value(env, "BIT_JOB_KIND"),
            Value(env, "BIT_PLAN"),
            Value(env, "BIT_WORKDIR") ?? Value(env, "BIT_CHECKPOINT_DIR"),
            int.TryParse(Value(env, "BIT_METRICS_PORT"), out var p) && p > 0 ? p : null,
            // Kubernetes' default terminationMessagePath; present only inside a container.
            Value(env, "BIT_TERMINATION_LOG") ?? (File.Exists(DefaultTerminationLog) ? DefaultTerminationLog : null));
    }

    public static PodEnvironment FromProcess() => From(Environment.GetEnvironmentVariable);

    private static string? Value(Func<string, string?> env, string name) => env(name) is { Length: > 0 } v ? v : null;
}
