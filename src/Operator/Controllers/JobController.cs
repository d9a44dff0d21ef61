using BiT.Contracts;
using BiT.Contracts.Pods;
using BiT.Operator.Api;
using BiT.Operator.Hosting;
using BiT.Operator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace BiT.Operator.Controllers;

/// <summary>
/// Wires the runtime to the BiT reconciler: caches for both job kinds and for the trainer pods, a work queue
/// fed by their events, and the reconcile loop that reads the caches, decides, and executes.
/// </summary>
public sealed class JobController : IDisposable
{
    private readonly IKubernetes _client;
    private readonly OperatorSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly OperatorMetrics _metrics;
    private readonly JobReconciler _reconciler;
    private readonly ActionExecutor _executor;
    private readonly Dictionary<(JobKind Kind, string Scope), Informer<JobObject>> _jobs = [];
    private readonly Dictionary<string, Informer<V1Pod>> _pods = [];
    private const string OwnerIndex = "owner-uid";
    private readonly Lock _lastWordsGate = new();
    private readonly Dictionary<string, string> _lastWords = new(StringComparer.Ordinal);

    public JobController(IKubernetes client, OperatorSettings settings, IJobPlanner planner, TimeProvider time, ILoggerFactory loggerFactory, OperatorMetrics metrics)
    {
        _client = client;
        _settings = settings;
        _time = time;
        _logger = loggerFactory.CreateLogger<JobController>();
        _metrics = metrics;
        _reconciler = new JobReconciler(settings.Controller, planner);
        _executor = new ActionExecutor(client, time, settings.Identity);
        Queue = new WorkQueue<ObjectKey>(time, settings.RetryBackoff, settings.MaxRetryBackoff);

        var scopes = settings.Namespaces.Count == 0 ? [""] : settings.Namespaces.Distinct().ToArray();
        var informerLogger = loggerFactory.CreateLogger<Informer<JobObject>>();
        foreach (var scope in scopes)
        {
            var ns = scope.Length == 0 ? null : scope;
            foreach (var kind in JobKind.All)
            {
                var informer = new Informer<JobObject>(
                    $"{kind.Plural}@{(ns ?? "*")}",
                    ListWatchSources.Custom<JobObject>(client, ApiInfo.Group, ApiInfo.Version, kind.Plural, ns),
                    time, settings.ResyncPeriod, informerLogger, SlimJob);
                informer.Changed += (type, job) => OnJob(kind, type, job);
                _jobs[(kind, scope)] = informer;
            }

            var pods = new Informer<V1Pod>(
                $"pods@{(ns ?? "*")}",
                ListWatchSources.Pods(client, ns, $"{OwnedObjects.ManagedByLabel}={OwnedObjects.ManagedBy}"),
                time, TimeSpan.Zero, loggerFactory.CreateLogger<Informer<V1Pod>>(), SlimPod);
            pods.AddIndex(OwnerIndex, pod => OwningJob(pod)?.Uid);
            pods.Changed += OnPod;
            _pods[scope] = pods;
        }

        // Per-job series are written at scrape time from the cache (nothing kept per job between scrapes).
        metrics.ReportJobs(CachedJobs, _time.GetUtcNow);
        metrics.Registry.AddBeforeCollectCallback(RefreshMetrics);
    }

    public WorkQueue<ObjectKey> Queue { get; }

    public bool HasSynced => _jobs.Values.All(i => i.HasSynced) && _pods.Values.All(i => i.HasSynced);

    /// <summary>Total reconciles finished (for tests and the benchmark).</summary>
    public long Reconciles => Interlocked.Read(ref _reconciles);

    private long _reconciles;

    public IEnumerable<(JobKind Kind, JobObject Job)> CachedJobs() =>
        _jobs.SelectMany(kv => kv.Value.List().Select(j => (kv.Key.Kind, j)));

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var informers = _jobs.Values.Select(i => i.RunAsync(stop.Token))
            .Concat(_pods.Values.Select(i => i.RunAsync(stop.Token))).ToList();
        try
        {
            await Task.WhenAll(_jobs.Values.Select(i => i.WaitForSyncAsync(stop.Token))
                .Concat(_pods.Values.Select(i => i.WaitForSyncAsync(stop.Token)))).ConfigureAwait(false);
            _logger.LogInformation("Caches synced: {Jobs} jobs, {Pods} pods", _jobs.Values.Sum(i => i.Count), _pods.Values.Sum(i => i.Count));
            var controller = new Controller<ObjectKey>(Queue, ReconcileAsync, _settings.Parallelism, _logger, Observe);
            await controller.RunAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutdown.
        }
        finally
        {
            Queue.ShutDown();
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(informers).ConfigureAwait(false);
        }
    }

    private Informer<JobObject>? JobInformer(JobKind kind, string ns) =>
        _jobs.GetValueOrDefault((kind, ns)) ?? _jobs.GetValueOrDefault((kind, ""));

    private Informer<V1Pod>? PodInformer(string ns) => _pods.GetValueOrDefault(ns) ?? _pods.GetValueOrDefault("");

    private void OnJob(JobKind kind, InformerEventType type, JobObject job)
    {
        var ns = job.Metadata.NamespaceProperty;
        if (type != InformerEventType.Deleted)
        {
            Queue.Add(new ObjectKey(kind.Kind, ns, job.Metadata.Name));
        }

        if (kind == JobKind.Pretrain && type != InformerEventType.Resync)
        {
            // Fine-tune jobs waiting for this pre-training job look again.
            foreach (var ft in JobInformer(JobKind.FineTune, ns)?.List() ?? [])
            {
                if (ft.Metadata.NamespaceProperty == ns && ft.FromPretrainJob == job.Metadata.Name)
                {
                    Queue.Add(new ObjectKey(JobKind.FineTune.Kind, ns, ft.Metadata.Name));
                }
            }
        }
    }

    /// <summary>The job that controls a pod, if any.</summary>
    private static V1OwnerReference? OwningJob(V1Pod pod) =>
        pod.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true && JobKind.FromKind(o.Kind) is not null);

    private void OnPod(InformerEventType type, V1Pod pod)
    {
        if (OwningJob(pod) is not { } owner)
        {
            return;
        }

        if (type == InformerEventType.Deleted)
        {
            lock (_lastWordsGate)
            {
                _lastWords.Remove(pod.Metadata.Uid ?? pod.Metadata.Name);
            }
        }

        if (type != InformerEventType.Resync)
        {
            Queue.Add(new ObjectKey(owner.Kind, pod.Metadata.NamespaceProperty, owner.Name));
        }
    }

    /// <summary>
    /// A job without the bookkeeping no reconcile reads (managed fields, kubectl's last-applied copy), its repeated
    /// strings shared (docs/benchmarks.md, "Operator at scale").
    /// </summary>
    internal static JobObject SlimJob(JobObject job)
    {
        var meta = job.Metadata;
        meta.ManagedFields = null;
        meta.Annotations?.Remove("kubectl.kubernetes.io/last-applied-configuration");
        if (meta.Annotations is { Count: 0 })
        {
            meta.Annotations = null;
        }

        job.ApiVersion = StringPool.Shared.Intern(job.ApiVersion)!;
        job.Kind = StringPool.Shared.Intern(job.Kind)!;
        meta.NamespaceProperty = StringPool.Shared.Intern(meta.NamespaceProperty);
        meta.Finalizers = meta.Finalizers is { Count: > 0 } f ? [.. f.Select(StringPool.Shared.Intern)!] : null;
        return job;
    }

    /// <summary>
    /// What the reconciler reads of a pod: identity, ownership (the controller reference), the cleanup role label,
    /// deletion, status (without addresses and QoS class). The spec stays out of the cache, and the strings every pod
    /// repeats are shared.
    /// </summary>
    internal static V1Pod SlimPod(V1Pod pod)
    {
        var meta = pod.Metadata;
        var status = pod.Status;
        var owner = meta.OwnerReferences?.FirstOrDefault(o => o.Controller == true);
        var role = meta.Labels?.TryGetValue(OwnedObjects.RoleLabel, out var r) == true ? r : null;
        return new V1Pod
        {
            ApiVersion = StringPool.Shared.Intern(pod.ApiVersion),
            Kind = StringPool.Shared.Intern(pod.Kind),
            Metadata = new V1ObjectMeta
            {
                Name = meta.Name,
                NamespaceProperty = StringPool.Shared.Intern(meta.NamespaceProperty),
                Uid = meta.Uid,
                ResourceVersion = meta.ResourceVersion,
                // When the job started, should the status write after the first pod's creation have been lost.
                CreationTimestamp = meta.CreationTimestamp,
                DeletionTimestamp = meta.DeletionTimestamp,
                Labels = role is null ? null : new Dictionary<string, string>(1) { [OwnedObjects.RoleLabel] = StringPool.Shared.Intern(role)! },
                OwnerReferences = owner is null ? null :
                [
                    new V1OwnerReference
                    {
                        ApiVersion = StringPool.Shared.Intern(owner.ApiVersion),
                        Kind = StringPool.Shared.Intern(owner.Kind),
                        Name = owner.Name,
                        Uid = owner.Uid,
                        Controller = owner.Controller,
                        BlockOwnerDeletion = owner.BlockOwnerDeletion,
                    },
                ],
            },
            Status = status is null ? null : new V1PodStatus
            {
                Phase = StringPool.Shared.Intern(status.Phase),
                Reason = StringPool.Shared.Intern(status.Reason),
                Message = status.Message,
                StartTime = status.StartTime,
                Conditions = status.Conditions is { Count: > 0 } conditions ? [.. conditions.Select(SlimCondition)] : null,
                ContainerStatuses = status.ContainerStatuses is { Count: > 0 } containers ? [.. containers.Select(SlimContainer)] : null,
            },
        };
    }

    private static V1PodCondition SlimCondition(V1PodCondition c) => new()
    {
        Type = StringPool.Shared.Intern(c.Type),
        Status = StringPool.Shared.Intern(c.Status),
        Reason = StringPool.Shared.Intern(c.Reason),
        Message = c.Message,
        LastTransitionTime = c.LastTransitionTime,
    };

    private static V1ContainerStatus SlimContainer(V1ContainerStatus c) => new()
    {
        Name = StringPool.Shared.Intern(c.Name),
        Ready = c.Ready,
        Started = c.Started,
        RestartCount = c.RestartCount,
        State = c.State,
        LastState = c.LastState,
        Image = StringPool.Shared.Intern(c.Image),
        ContainerID = c.ContainerID,
    };

    /// <summary>The pods a job owns, from the pod cache's owner index.</summary>
    private IReadOnlyList<V1Pod> PodsOf(JobObject job) =>
        job.Metadata.Uid is { } uid && PodInformer(job.Metadata.NamespaceProperty) is { } pods ? pods.ByIndex(OwnerIndex, uid) : [];

    /// <summary>A 4xx that another attempt cannot change: not 404 (gone meanwhile), 409 (conflict) or 429 (throttled).</summary>
    internal static bool IsPermanentRejection(System.Net.HttpStatusCode status) =>
        (int)status is >= 400 and < 500 and not (404 or 409 or 429 or 408);

    private async Task FailRejectedAsync(JobKind kind, JobObject job, JobView view, Informer<JobObject> informer, JobAction action, HttpOperationException ex, CancellationToken cancellationToken)
    {
        const string Reason = "OwnedObjectRejected";
        var what = action switch
        {
            CreatePod { Pod: var p } => $"Pod {p.Metadata?.Name}",
            EnsureObject { Object: var o } => $"{o.Kind} {o.Metadata?.Name}",
            _ => action.GetType().Name,
        };
        var message = $"the API server refused {what}: {(int)ex.Response.StatusCode} {ServerMessage(ex)}";
        var now = _time.GetUtcNow();
        var generation = job.Metadata.Generation;
        var old = view.Status;
        var conditions = BiT.Contracts.Api.ConditionRules.Set(old.Conditions, BiT.Contracts.Api.ConditionTypes.Failed, BiT.Contracts.Api.ConditionStatus.True, Reason, message, generation, now);
        conditions = BiT.Contracts.Api.ConditionRules.Set(conditions, BiT.Contracts.Api.ConditionTypes.Running, BiT.Contracts.Api.ConditionStatus.False, Reason, message, generation, now);
        var failed = old with { Phase = BiT.Contracts.Api.JobPhase.Failed, Conditions = conditions, CompletionTime = old.CompletionTime ?? now };
        if (BiT.Contracts.Api.BiTJobStatus.MergePatch(old, failed, BiT.Contracts.Api.BiTJobStatus.OperatorFields) is { } patch)
        {
            informer.Upsert(await _executor.PatchStatusAsync(kind, job, patch, cancellationToken).ConfigureAwait(false));
        }
        await _executor.ExecuteAsync(kind, job, new RecordEvent(RecordEvent.Warning, Reason, message), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The message of the API server's Status body, or the raw body when it is not one.</summary>
    private static string ServerMessage(HttpOperationException ex)
    {
        var body = ex.Response.Content ?? "";
        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(body)?["message"]?.GetValue<string>() is { Length: > 0 } message)
            {
                return message;
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a Status object: the body as it came.
        }
        return body.Length > 1024 ? body[..1024] : body;
    }

    private async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var kind = JobKind.FromKind(key.Kind)!;
        var informer = JobInformer(kind, key.Namespace);
        var job = informer?.Get(key.Namespace, key.Name);
        if (job is null || informer is null)
        {
            return ReconcileResult.Done with { Outcome = "gone" };
        }

        // The job (and its upstream) parsed and validated once; everything below reads these views.
        var view = JobView.Of(kind, job);
        JobView? upstream = null;
        if (kind == JobKind.FineTune && job.FromPretrainJob is { } upName
            && JobInformer(JobKind.Pretrain, key.Namespace)?.Get(key.Namespace, upName) is { } up)
        {
            upstream = JobView.Of(JobKind.Pretrain, up);
        }

        var pods = await WithLastWordsAsync(view, PodsOf(job), cancellationToken).ConfigureAwait(false);
        var decision = _reconciler.Reconcile(new ReconcileInput(view, pods, upstream, _time.GetUtcNow()));

        foreach (var action in decision.Actions.Where(a => a is not RecordEvent))
        {
            try
            {
                await _executor.ExecuteAsync(kind, job, action, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException ex) when (action is EnsureObject { Object: PodGroupObject group } && ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // The gang scheduler's API is not served here: the pods are made all the same (they wait for a
                // scheduler that may not exist, which their Pending reason shows) and the user is told why.
                await _executor.ExecuteAsync(kind, job, new RecordEvent(RecordEvent.Warning, "PodGroupUnavailable",
                    $"spec.resources.podGroup: the API {group.ApiVersion} (PodGroup) is not served by this cluster, so {group.Metadata.Name} was not created; install the gang scheduler or remove podGroup"), cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException ex) when (action is EnsureObject or CreatePod && IsPermanentRejection(ex.Response.StatusCode))
            {
                // Retrying what the API server refuses for good (422 invalid, 400, 403, 413) would loop in backoff
                // with no word to the user: the job fails with the server's own message instead.
                await FailRejectedAsync(kind, job, view, informer, action, ex, cancellationToken).ConfigureAwait(false);
                return ReconcileResult.Done with { Outcome = "rejected" };
            }

            if (action is CreatePod { Pod: var pod })
            {
                // Seen at once by the next reconcile, before the watch delivers it.
                OnPodCreated(SlimPod(pod));
            }
        }

        if (decision.StatusPatch is { } patch)
        {
            try
            {
                var updated = await _executor.PatchStatusAsync(kind, job, patch, cancellationToken).ConfigureAwait(false);
                informer.Upsert(updated);
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // Deleted meanwhile: garbage collection takes what it owned.
                return ReconcileResult.Done with { Outcome = "gone" };
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // Decided from a stale cache: decide again once the watch has caught up.
                return ReconcileResult.After(TimeSpan.FromMilliseconds(200)) with { Outcome = "conflict" };
            }

            var old = view.Status;
            var history = decision.Status.RestartHistory ?? [];
            var oldHistory = old.RestartHistory ?? [];
            if (history.Count > 0
                && ((decision.Status.Restarts ?? 0) > (old.Restarts ?? 0) || history.Count != oldHistory.Count
                    || history[^1] != oldHistory.LastOrDefault()))
            {
                _metrics.Restarted(kind, key.Namespace, key.Name, history[^1].Reason ?? "");
            }
        }

        foreach (var e in decision.Actions.OfType<RecordEvent>())
        {
            await _executor.ExecuteAsync(kind, job, e, cancellationToken).ConfigureAwait(false);
        }

        return decision.RequeueAfter is { } after ? ReconcileResult.After(after) : ReconcileResult.Done;
    }

    /// <summary>Every reconcile's outcome and duration, as the generic controller reports them.</summary>
    private void Observe(ObjectKey key, string outcome, TimeSpan duration)
    {
        Interlocked.Increment(ref _reconciles);
        _metrics.Reconciled(key.Kind, outcome, duration);
        _metrics.Queue(Queue.Depth, Queue.DelayedCount);
    }

    /// <summary>
    /// For a trainer pod that ended without a termination message, the tail of its log stands in for it (as
    /// FallbackToLogsOnError would, and also on success, where the trainer's last line carries its result). Read
    /// once per pod and only while the job is unfinished, so the reconciler itself stays a pure function. Not for a
    /// pod that succeeded after its trainer patched status.result itself: the reconciler uses that.
    /// </summary>
    private async Task<IReadOnlyList<V1Pod>> WithLastWordsAsync(JobView job, IReadOnlyList<V1Pod> pods, CancellationToken cancellationToken)
    {
        var status = job.Status;
        if (status.Phase is BiT.Contracts.Api.JobPhase.Succeeded or BiT.Contracts.Api.JobPhase.Failed)
        {
            return pods;
        }

        List<V1Pod>? result = null;
        for (var i = 0; i < pods.Count; i++)
        {
            var pod = pods[i];
            var terminated = pod.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Terminated;
            if (pod.Status?.Phase is not ("Succeeded" or "Failed") || terminated is null || !string.IsNullOrEmpty(terminated.Message)
                || (pod.Status.Phase == "Succeeded" && status.Result is not null))
            {
                continue;
            }

            string? words;
            lock (_lastWordsGate)
            {
                _lastWords.TryGetValue(pod.Metadata.Uid ?? pod.Metadata.Name, out words);
            }

            if (words is null)
            {
                words = await ReadLogTailAsync(pod, cancellationToken).ConfigureAwait(false);
                lock (_lastWordsGate)
                {
                    _lastWords[pod.Metadata.Uid ?? pod.Metadata.Name] = words;
                }
            }

            if (words.Length == 0)
            {
                continue;
            }

            var copy = KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(pod));
            copy.Status.ContainerStatuses[0].State.Terminated.Message = words;
            result ??= [.. pods];
            result[i] = copy;
        }

        return result ?? pods;
    }

    private async Task<string> ReadLogTailAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        try
        {
            using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync(
                pod.Metadata.Name, pod.Metadata.NamespaceProperty, container: pod.Status?.ContainerStatuses?.FirstOrDefault()?.Name ?? PodPaths.TrainerContainer, tailLines: 20, cancellationToken: cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream);
            var text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            return text.Length > 4096 ? text[^4096..] : text;
        }
        catch (HttpOperationException ex)
        {
            _logger.LogDebug(ex, "No log for pod {Pod}", pod.Metadata.Name);
            return "";
        }
    }

    private void OnPodCreated(V1Pod pod) => PodInformer(pod.Metadata.NamespaceProperty)?.Upsert(pod);

    private void RefreshMetrics()
    {
        _metrics.Queue(Queue.Depth, Queue.DelayedCount);
    }

    public void Dispose() => Queue.Dispose();
}
