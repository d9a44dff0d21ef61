using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Trainer.Training;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace BiT.Trainer.Telemetry;

/// <summary>
/// Writes the trainer's fields of the job's status (<see cref="BiTJobStatus.TrainerFields"/>: <c>progress</c>,
/// <c>checkpoint</c>, <c>resumed</c> (once, at start), and <c>result</c> when the run finished) through the status subresource with JSON merge
/// patches through KubernetesClient (in-cluster configuration, or <c>BIT_KUBE_API</c> with its token and CA), at
/// most once per <c>interval</c>: events in between are coalesced, the latest wins, and the last one is
/// sent on dispose (before the process exits). A failed patch is logged and retried with the next one; it never
/// stops training.
/// </summary>
public sealed class KubernetesStatusReporter : IProgressReporter
{
    private readonly Kubernetes client;
    private readonly JobKind kind;
    private readonly string ns;
    private readonly string name;
    private readonly string? podName;
    private readonly TimeProvider time;
    private readonly TimeSpan interval;
    private readonly Action<string> warn;
    private readonly Lock gate = new();
    private readonly CancellationTokenSource stop = new();
    private readonly SemaphoreSlim wake = new(0);
    private readonly Task loop;
    private ProgressStatus? pendingProgress;
    private CheckpointStatus? pendingCheckpoint;
    private ResumeStatus? pendingResumed;
    private ResultStatus? pendingResult;
    private int failures;

    public KubernetesStatusReporter(PodEnvironment pod, TimeProvider time, TimeSpan interval, Action<string> warn)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (!pod.CanReportStatus)
        {
            throw new ArgumentException("the pod environment lacks the API server, namespace, job name or kind", nameof(pod));
        }
        this.time = time;
        this.interval = interval;
        this.warn = warn;
        kind = JobKind.FromKind(pod.JobKind)
            ?? throw new ArgumentException($"BIT_JOB_KIND must be {ApiInfo.FineTuneKind} or {ApiInfo.PretrainKind}, got '{pod.JobKind}'", nameof(pod));
        ns = pod.Namespace!;
        name = pod.JobName!;
        podName = pod.PodName;
        client = new Kubernetes(Configuration(pod));
        StatusUri = new Uri(pod.ApiServer!, $"/apis/{ApiInfo.Group}/{ApiInfo.Version}/namespaces/{Uri.EscapeDataString(ns)}/{kind.Plural}/{Uri.EscapeDataString(name)}/status");
        loop = Task.Run(() => RunAsync(stop.Token));
    }

    /// <summary>The status subresource written (for messages).</summary>
    public Uri StatusUri { get; }

    public int Failures => Volatile.Read(ref failures);

    public void Started(TrainingSettings settings, int startStep)
    {
        lock (gate)
        {
            pendingProgress = ProgressStatus.Create(startStep, settings.Schedule.TotalSteps) with { LastProgressTime = time.GetUtcNow() };
            // Which checkpoint this pod restored: the operator records it in the restart history (only a pod that knows its name can say).
            pendingResumed = podName is null ? null : new ResumeStatus { PodName = podName, Step = startStep, Time = time.GetUtcNow() };
        }
        wake.Release();
    }

    public void Progress(ProgressUpdate update)
    {
        lock (gate)
        {
            pendingProgress = ProgressStatus.Create(update.Step, update.TotalSteps) with
            {
                Epoch = Math.Round(update.Epoch, 4),
                Loss = double.IsFinite(update.Loss) ? Math.Round(update.Loss, 6) : null,
                ImagesPerSecond = Math.Round(update.ImagesPerSecond, 2),
                LastProgressTime = update.Time,
                Eta = update.Eta is { } eta ? GoDuration.FromTimeSpan(TimeSpan.FromSeconds(Math.Round(eta.TotalSeconds))) : null,
            };
        }
        wake.Release();
    }

    public void Evaluated(int step, EvalResult result)
    {
    }

    public void Checkpointed(int step, string path, DateTimeOffset time)
    {
        lock (gate)
        {
            pendingCheckpoint = new CheckpointStatus { Step = step, Path = path, Time = time };
        }
        wake.Release();
    }

    public void Finished(ResultStatus result)
    {
        lock (gate)
        {
            pendingResult = result;
        }
        wake.Release();
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try
        {
            await loop;
        }
        catch (OperationCanceledException)
        {
            // Stopped while waiting.
        }
        using var flush = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await SendPendingAsync(flush.Token);
        }
        catch (OperationCanceledException)
        {
            // The API server did not answer in time; the operator still sees the pod's exit.
        }
        client.Dispose();
        stop.Dispose();
        wake.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await wake.WaitAsync(cancellationToken);
            await SendPendingAsync(cancellationToken);
            await Task.Delay(interval, time, cancellationToken);
        }
    }

    private async Task SendPendingAsync(CancellationToken cancellationToken)
    {
        BiTJobStatus pending;
        lock (gate)
        {
            pending = new BiTJobStatus { Progress = pendingProgress, Checkpoint = pendingCheckpoint, Resumed = pendingResumed, Result = pendingResult };
            (pendingProgress, pendingCheckpoint, pendingResumed, pendingResult) = (null, null, null, null);
        }
        // Only what is pending, and only the trainer's fields: the operator's are never touched.
        var status = BiTJobStatus.MergePatch(new BiTJobStatus(), pending, BiTJobStatus.TrainerFields);
        if (status is null)
        {
            return;
        }
        var body = new JsonObject { ["status"] = status }.ToJsonString();
        try
        {
            await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
                new V1Patch(body, V1Patch.PatchType.MergePatch), ApiInfo.Group, ApiInfo.Version, ns, kind.Plural, name,
                cancellationToken: cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down mid-request: keep the update for the final flush.
            Requeue(pending);
            throw;
        }
        catch (HttpOperationException e)
        {
            Fail($"status patch of {StatusUri} failed: HTTP {(int)e.Response.StatusCode} {e.Response.Content}", pending);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or UnauthorizedAccessException)
        {
            Fail($"status patch of {StatusUri} failed: {e.Message}", pending);
        }
    }

    private void Fail(string message, BiTJobStatus failed)
    {
        Interlocked.Increment(ref failures);
        warn($"warning: {message}");
        Requeue(failed);
    }

    private void Requeue(BiTJobStatus failed)
    {
        lock (gate)
        {
            // Keep what failed unless something newer arrived meanwhile.
            pendingProgress ??= failed.Progress;
            pendingCheckpoint ??= failed.Checkpoint;
            pendingResumed ??= failed.Resumed;
            pendingResult ??= failed.Result;
        }
    }

    /// <summary>
    /// In a pod the client's in-cluster configuration (the service account's rotating token and CA); with
    /// <c>BIT_KUBE_API</c> that server, the token file if it exists and the CA if given.
    /// </summary>
    private static KubernetesClientConfiguration Configuration(PodEnvironment pod)
    {
        var config = pod.InCluster && KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : new KubernetesClientConfiguration
            {
                Host = pod.ApiServer!.ToString(),
                TokenProvider = File.Exists(pod.TokenFile) ? new k8s.Authentication.TokenFileAuth(pod.TokenFile) : null,
                SslCaCerts = pod.CaFile is { } ca && File.Exists(ca) ? [X509CertificateLoader.LoadCertificateFromFile(ca)] : null,
            };
        config.HttpClientTimeout = TimeSpan.FromSeconds(10);
        return config;
    }
}
