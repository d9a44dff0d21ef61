using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Contracts.Api;
using BiT.Trainer.Training;

namespace BiT.Trainer.Telemetry;

/// <summary>
/// Writes the trainer's fields of the job's status (<see cref="BiTJobStatus.TrainerFields"/>: <c>progress</c>,
/// <c>checkpoint</c>, and <c>result</c> when the run finished) through the status subresource with JSON merge
/// patches, at most once per <c>interval</c>: events in between are coalesced, the latest wins, and the last one is
/// sent on dispose (before the process exits). A failed patch is logged and retried with the next one; it never
/// stops training.
/// </summary>
public sealed class KubernetesStatusReporter : IProgressReporter
{
    private readonly HttpClient http;
    private readonly Uri statusUri;
    private readonly string tokenFile;
    private readonly TimeProvider time;
    private readonly TimeSpan interval;
    private readonly Action<string> warn;
    private readonly Lock gate = new();
    private readonly CancellationTokenSource stop = new();
    private readonly SemaphoreSlim wake = new(0);
    private readonly Task loop;
    private ProgressStatus? pendingProgress;
    private CheckpointStatus? pendingCheckpoint;
    private ResultStatus? pendingResult;
    private int failures;

    public KubernetesStatusReporter(PodEnvironment pod, TimeProvider time, TimeSpan interval, Action<string> warn, HttpMessageHandler? handler = null)
    {
        if (!pod.CanReportStatus)
        {
            throw new ArgumentException("the pod environment lacks the API server, namespace, job name or kind", nameof(pod));
        }
        this.time = time;
        this.interval = interval;
        this.warn = warn;
        tokenFile = pod.TokenFile;
        var plural = pod.JobKind switch
        {
            ApiInfo.FineTuneKind => "bitfinetunejobs",
            ApiInfo.PretrainKind => "bitpretrainjobs",
            _ => throw new ArgumentException($"BIT_JOB_KIND must be {ApiInfo.FineTuneKind} or {ApiInfo.PretrainKind}, got '{pod.JobKind}'", nameof(pod)),
        };
        statusUri = new Uri(pod.ApiServer!, $"/apis/{ApiInfo.Group}/{ApiInfo.Version}/namespaces/{Uri.EscapeDataString(pod.Namespace!)}/{plural}/{Uri.EscapeDataString(pod.JobName!)}/status");
        http = new HttpClient(handler ?? CreateHandler(pod.CaFile), disposeHandler: true) { Timeout = TimeSpan.FromSeconds(10) };
        loop = Task.Run(() => RunAsync(stop.Token));
    }

    public Uri StatusUri => statusUri;

    public int Failures => Volatile.Read(ref failures);

    public void Started(TrainingSettings settings, int startStep)
    {
        lock (gate)
        {
            pendingProgress = ProgressStatus.Create(startStep, settings.Schedule.TotalSteps) with { LastProgressTime = time.GetUtcNow() };
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
        http.Dispose();
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
            pending = new BiTJobStatus { Progress = pendingProgress, Checkpoint = pendingCheckpoint, Result = pendingResult };
            (pendingProgress, pendingCheckpoint, pendingResult) = (null, null, null);
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
            using var request = new HttpRequestMessage(HttpMethod.Patch, statusUri)
            {
                Content = new StringContent(body, Encoding.UTF8, "application/merge-patch+json"),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
            if (File.Exists(tokenFile))
            {
                // Projected tokens rotate: read the file every time.
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(tokenFile, cancellationToken)).Trim());
            }
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                Fail($"status patch of {statusUri} failed: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}", pending);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down mid-request: keep the update for the final flush.
            Requeue(pending);
            throw;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            Fail($"status patch of {statusUri} failed: {e.Message}", pending);
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
            pendingResult ??= failed.Result;
        }
    }

    private static HttpMessageHandler CreateHandler(string? caFile)
    {
        var handler = new SocketsHttpHandler();
        if (caFile is not null && File.Exists(caFile))
        {
            var ca = X509CertificateLoader.LoadCertificateFromFile(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                if (certificate is null)
                {
                    return false;
                }
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }
        return handler;
    }
}
