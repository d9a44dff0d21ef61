using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Controllers;
using KubeEmulator.Hosting;
using KubeEmulator.KubeletRuntime;
using KubeEmulator.Watch;
using Microsoft.AspNetCore.Http;

namespace KubeEmulator;

/// <summary>
/// The local kubelet (and scheduler) of a single node: when <see cref="EmulatorOptions.RunPods"/> is set it binds
/// every pod to <see cref="EmulatorOptions.NodeName"/> and runs its containers as local processes
/// (containerID local://PID). Simulated node events: evict a pod, kill its processes, lose the node.
/// </summary>
public sealed class Kubelet
{
    private readonly ApiServerCore _core;
    private readonly ConcurrentDictionary<string, PodWorker> _workers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Uri? _api;
    private string _stateDir = "";
    private volatile bool _nodeLost;

    internal Kubelet(ApiServerCore core)
    {
        _core = core;
    }

    public bool Enabled => _core.Options.RunPods;

    public string NodeName => _core.Options.NodeName;

    /// <summary>Where pod directories, logs and PVC host directories live.</summary>
    public string StateDir => _stateDir;

    /// <summary>The host directory that backs a PersistentVolumeClaim (it outlives the pods that mount it).</summary>
    public string PvcHostPath(string @namespace, string claimName) => PodSandbox.PvcDir(_stateDir, @namespace, claimName);

    /// <summary>Process ids of a pod's running containers, by container name.</summary>
    public IReadOnlyDictionary<string, int> ProcessIds(string @namespace, string name)
    {
        var pod = _core.Service.TryGet(_core.Type("", "pods"), @namespace, name);
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in (Json.At(pod, "status", "containerStatuses") as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            if (Json.At(s, "state", "running") is not null && Json.Str(s, "containerID") is { } id && id.StartsWith("local://", StringComparison.Ordinal)
                && int.TryParse(id["local://".Length..], CultureInfo.InvariantCulture, out var pid))
            {
                result[Json.Str(s, "name")!] = pid;
            }
        }
        return result;
    }

    internal void Start(Uri apiAddress)
    {
        if (!Enabled)
        {
            return;
        }
        _api = apiAddress;
        _stateDir = _core.Options.StateDir ?? Directory.CreateTempSubdirectory("kube-emulator-state-").FullName;
        Directory.CreateDirectory(_stateDir);
        RegisterNode(ready: true);
        _core.PodLogs = ServeLogAsync;
        ControllerLoop.Run(_core.Store, Handle, _core.ControllerErrors.Enqueue, _stop.Token);
        // Pods that existed before the kubelet started (none in practice) are picked up by a resync.
        foreach (var pod in _core.Service.List(_core.Type("", "pods"), null, new ListOptions()).Items)
        {
            HandlePod("ADDED", pod);
        }
    }

    private void Handle(WatchEvent e)
    {
        if (e.GroupResource == "pods")
        {
            HandlePod(e.Type, e.Object);
        }
    }

    private static string Key(string ns, string name) => ns + "/" + name;

    private void HandlePod(string type, JsonObject pod)
    {
        var ns = Json.Str(pod, "metadata", "namespace")!;
        var name = Json.Str(pod, "metadata", "name")!;
        var uid = Json.Str(pod, "metadata", "uid");
        var key = Key(ns, name);
        _workers.TryGetValue(key, out var worker);
        if (worker is not null && worker.Uid != uid)
        {
            // A new pod with the same name: the old one's processes must not survive it.
            _workers.TryRemove(key, out _);
            _ = worker.AbandonAsync();
            worker = null;
        }
        if (type == "DELETED")
        {
            if (worker is not null && _workers.TryRemove(key, out _))
            {
                _ = worker.AbandonAsync();
            }
            if (!string.IsNullOrEmpty(Json.Str(pod, "spec", "nodeName")) && !_nodeLost)
            {
                RetryPending();
            }
            return;
        }
        var nodeName = Json.Str(pod, "spec", "nodeName");
        var deleting = Json.At(pod, "metadata", "deletionTimestamp") is not null;
        if (_nodeLost)
        {
            return;
        }
        if (string.IsNullOrEmpty(nodeName))
        {
            if (!deleting)
            {
                Bind(ns, name);
            }
            return;
        }
        if (nodeName != NodeName)
        {
            return;
        }
        if (deleting)
        {
            var grace = Json.Long(pod, "metadata", "deletionGracePeriodSeconds") ?? 30;
            if (worker is null)
            {
                ForceDelete(ns, name, uid);
                return;
            }
            _ = Task.Run(async () =>
            {
                await worker.TerminateAsync(grace);
                _workers.TryRemove(new KeyValuePair<string, PodWorker>(key, worker));
                ForceDelete(ns, name, uid);
            });
            return;
        }
        var phase = Json.Str(pod, "status", "phase");
        if (worker is null && phase is not ("Succeeded" or "Failed" or "Unknown"))
        {
            worker = new PodWorker(_core, pod, _api!, _stateDir);
            if (_workers.TryAdd(key, worker))
            {
                worker.Start();
                var started = worker;
                _ = Task.Run(async () =>
                {
                    await started.Completion;
                    // A finished pod frees its resources: pending pods may fit now.
                    if (!_nodeLost && !_stop.IsCancellationRequested)
                    {
                        RetryPending();
                    }
                });
            }
        }
    }

    /// <summary>The scheduler's part: bind to the one node and record PodScheduled.</summary>
    private void Bind(string ns, string name)
    {
        var t = _core.Type("", "pods");
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var pod = _core.Service.TryGet(t, ns, name);
            if (pod is null || !string.IsNullOrEmpty(Json.Str(pod, "spec", "nodeName")))
            {
                return;
            }
            var unmatched = UnmatchedSelector(pod);
            if (unmatched is not null)
            {
                MarkUnschedulable(t, pod, "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.", $"unmatched: {unmatched}");
                return;
            }
            var insufficient = Insufficient(pod);
            if (insufficient.Count > 0)
            {
                MarkUnschedulable(t, pod, $"0/1 nodes are available: {string.Join(", ", insufficient.Select(r => "1 Insufficient " + r))}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.", null);
                return;
            }
            Json.Obj(pod, "spec")["nodeName"] = NodeName;
            try
            {
                var bound = _core.Service.Update(t, ns, name, pod, null, RequestOptions.System with { FieldManager = "kube-scheduler" });
                var status = Json.Obj(bound, "status");
                status["conditions"] = new JsonArray(new JsonObject { ["type"] = "PodScheduled", ["status"] = "True", ["lastProbeTime"] = null, ["lastTransitionTime"] = Json.Timestamp(_core.Time.GetUtcNow()) });
                _core.Service.Update(t, ns, name, bound, "status", RequestOptions.System with { FieldManager = "kube-scheduler" });
                PodEvents.Record(_core, bound, "Normal", "Scheduled", $"Successfully assigned {ns}/{name} to {NodeName}", "default-scheduler");
                return;
            }
            catch (ApiException e) when (e.Code is 409)
            {
                // Raced with a client: read again.
            }
            catch (ApiException e) when (e.Code is 404)
            {
                return;
            }
        }
    }

    private Dictionary<string, string> Labels()
    {
        var labels = new Dictionary<string, string>(_core.Options.NodeLabels, StringComparer.Ordinal)
        {
            ["kubernetes.io/hostname"] = NodeName,
            ["kubernetes.io/os"] = "linux",
            ["kubernetes.io/arch"] = "amd64",
        };
        return labels;
    }

    /// <summary>The nodeSelector entries the node does not satisfy, or null when it fits (the scheduler's NodeAffinity filter, selector part).</summary>
    private string? UnmatchedSelector(JsonObject pod)
    {
        if (Json.At(pod, "spec", "nodeSelector") is not JsonObject selector)
        {
            return null;
        }
        var labels = Labels();
        var missing = selector.Where(kv => !labels.TryGetValue(kv.Key, out var v) || v != kv.Value?.ToString()).Select(kv => $"{kv.Key}={kv.Value}").ToList();
        return missing.Count == 0 ? null : string.Join(",", missing);
    }

    /// <summary>Resources the pod requests beyond what the node has left (the scheduler's NodeResourcesFit filter).</summary>
    private List<string> Insufficient(JsonObject pod)
    {
        var capacity = _core.Options.NodeCapacity.ToDictionary(kv => kv.Key, kv => Quantity.Parse(kv.Value) ?? double.MaxValue, StringComparer.Ordinal);
        var used = new Dictionary<string, double>(StringComparer.Ordinal) { ["pods"] = 0 };
        var uid = Json.Str(pod, "metadata", "uid");
        foreach (var other in _core.Service.List(_core.Type("", "pods"), null, new ListOptions(FieldSelector: $"spec.nodeName={NodeName}")).Items)
        {
            if (Json.Str(other, "status", "phase") is "Succeeded" or "Failed" || Json.Str(other, "metadata", "uid") == uid)
            {
                continue;
            }
            used["pods"] += 1;
            foreach (var (k, v) in Requests(other))
            {
                used[k] = used.GetValueOrDefault(k) + v;
            }
        }
        var wanted = Requests(pod);
        wanted["pods"] = 1;
        return wanted.Where(kv => capacity.TryGetValue(kv.Key, out var cap) && used.GetValueOrDefault(kv.Key) + kv.Value > cap + 1e-9).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
    }

    private static Dictionary<string, double> Requests(JsonObject pod)
    {
        var total = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var c in (Json.At(pod, "spec", "containers") as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var requests = Json.At(c, "resources", "requests") as JsonObject;
            var limits = Json.At(c, "resources", "limits") as JsonObject;
            foreach (var name in (requests?.Select(kv => kv.Key) ?? []).Concat(limits?.Select(kv => kv.Key) ?? []).Distinct())
            {
                var q = Quantity.Parse(requests?[name]?.ToString()) ?? Quantity.Parse(limits?[name]?.ToString()) ?? 0;
                total[name] = total.GetValueOrDefault(name) + q;
            }
        }
        return total;
    }

    /// <summary>Pending pods get another chance when room frees up (a pod finished or went away).</summary>
    private void RetryPending()
    {
        var pending = _core.Service.List(_core.Type("", "pods"), null, new ListOptions()).Items
            .Where(p => string.IsNullOrEmpty(Json.Str(p, "spec", "nodeName")) && Json.At(p, "metadata", "deletionTimestamp") is null)
            .OrderBy(p => Json.Str(p, "metadata", "creationTimestamp"), StringComparer.Ordinal)
            .ToList();
        foreach (var p in pending)
        {
            Bind(Json.Str(p, "metadata", "namespace")!, Json.Str(p, "metadata", "name")!);
        }
    }

    private void MarkUnschedulable(ResourceType t, JsonObject pod, string message, string? detail)
    {
        var conditions = Json.At(pod, "status", "conditions") as JsonArray;
        if (conditions?.OfType<JsonObject>().Any(c => Json.Str(c, "type") == "PodScheduled" && Json.Str(c, "reason") == "Unschedulable" && Json.Str(c, "message") == message) == true)
        {
            return;
        }
        Json.Obj(pod, "status")["conditions"] = new JsonArray(new JsonObject
        {
            ["type"] = "PodScheduled",
            ["status"] = "False",
            ["lastProbeTime"] = null,
            ["lastTransitionTime"] = Json.Timestamp(_core.Time.GetUtcNow()),
            ["reason"] = "Unschedulable",
            ["message"] = message,
        });
        try
        {
            var updated = _core.Service.Update(t, Json.Str(pod, "metadata", "namespace"), Json.Str(pod, "metadata", "name")!, pod, "status", RequestOptions.System with { FieldManager = "kube-scheduler" });
            PodEvents.Record(_core, updated, "Warning", "FailedScheduling", detail is null ? message : $"{message} ({detail})", "default-scheduler");
        }
        catch (ApiException e) when (e.Code is 404 or 409)
        {
            // Changed or gone: the next event retries.
        }
    }

    private void ForceDelete(string ns, string name, string? uid)
    {
        try
        {
            _core.Service.Delete(_core.Type("", "pods"), ns, name, new DeleteOptions(GracePeriodSeconds: 0, PreconditionUid: uid), RequestOptions.System);
        }
        catch (ApiException e) when (e.Code is 404 or 409)
        {
            // Gone already, or replaced.
        }
    }

    /// <summary>
    /// Node-pressure eviction: the pod gets a DisruptionTarget condition, its containers are stopped (SIGTERM, then
    /// SIGKILL after the grace period), and it ends Failed with reason Evicted. The pod object stays, as with a real kubelet.
    /// </summary>
    public async Task EvictAsync(string @namespace, string name, CancellationToken ct = default)
    {
        var worker = Worker(@namespace, name);
        var grace = Json.Long(_core.Service.TryGet(_core.Type("", "pods"), @namespace, name), "spec", "terminationGracePeriodSeconds") ?? 30;
        var condition = new JsonObject
        {
            ["type"] = "DisruptionTarget",
            ["status"] = "True",
            ["lastProbeTime"] = null,
            ["lastTransitionTime"] = Json.Timestamp(_core.Time.GetUtcNow()),
            ["reason"] = "TerminationByKubelet",
            ["message"] = "The node was low on resource: memory. ",
        };
        if (_core.Service.TryGet(_core.Type("", "pods"), @namespace, name) is { } pod)
        {
            PodEvents.Record(_core, pod, "Warning", "Evicted", "The node was low on resource: memory. ");
        }
        await worker.TerminateAsync(grace, condition, "Failed", "Evicted", "The node was low on resource: memory. ").WaitAsync(ct);
        _workers.TryRemove(new KeyValuePair<string, PodWorker>(Key(@namespace, name), worker));
    }

    /// <summary>Kills a pod's container processes as a crash would (SIGKILL when hard, else SIGTERM); restartPolicy applies.</summary>
    public Task KillAsync(string @namespace, string name, bool hard = true, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        Worker(@namespace, name).Signal(hard);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The node disappears: every container process is killed at once, the node turns NotReady, its pods turn
    /// Unknown (reason NodeLost) and after <see cref="EmulatorOptions.NodeLostDeletionDelay"/> are deleted. When
    /// <paramref name="comeBack"/> is set a fresh node with the same name then registers and runs new pods.
    /// </summary>
    public async Task LoseNodeAsync(bool comeBack = true, CancellationToken ct = default)
    {
        _nodeLost = true;
        var workers = _workers.Values.ToList();
        _workers.Clear();
        await Task.WhenAll(workers.Select(w => w.AbandonAsync()));
        RegisterNode(ready: false);
        var t = _core.Type("", "pods");
        var pods = _core.Service.List(t, null, new ListOptions(FieldSelector: $"spec.nodeName={NodeName}")).Items;
        foreach (var pod in pods)
        {
            var ns = Json.Str(pod, "metadata", "namespace")!;
            var name = Json.Str(pod, "metadata", "name")!;
            try
            {
                var status = Json.Obj(pod, "status");
                status["phase"] = "Unknown";
                status["reason"] = "NodeLost";
                status["message"] = $"Node {NodeName} which was running pod {name} is unresponsive";
                foreach (var c in (status["conditions"] as JsonArray)?.OfType<JsonObject>() ?? [])
                {
                    if (Json.Str(c, "type") is "Ready" or "ContainersReady")
                    {
                        c["status"] = "False";
                        c["reason"] = "NodeLost";
                    }
                }
                _core.Service.Update(t, ns, name, pod, "status", RequestOptions.System with { FieldManager = "node-controller" });
            }
            catch (ApiException e) when (e.Code is 404 or 409)
            {
                // Deleted or changed meanwhile; the deletion below still applies.
            }
        }
        await Task.Delay(_core.Options.NodeLostDeletionDelay, _core.Time, ct);
        foreach (var pod in pods)
        {
            ForceDelete(Json.Str(pod, "metadata", "namespace")!, Json.Str(pod, "metadata", "name")!, Json.Str(pod, "metadata", "uid"));
        }
        if (comeBack)
        {
            RegisterNode(ready: true);
            _nodeLost = false;
            foreach (var pod in _core.Service.List(t, null, new ListOptions()).Items)
            {
                HandlePod("MODIFIED", pod);
            }
        }
    }

    private PodWorker Worker(string ns, string name) =>
        _workers.TryGetValue(Key(ns, name), out var w) ? w : throw new InvalidOperationException($"pod {ns}/{name} is not running on the emulator's kubelet (RunPods: {Enabled})");

    private void RegisterNode(bool ready)
    {
        var t = _core.Type("", "nodes");
        var now = Json.Timestamp(_core.Time.GetUtcNow());
        var node = _core.Service.TryGet(t, null, NodeName) ?? _core.Service.Create(t, null, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = NodeName, ["labels"] = new JsonObject(Labels().Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))) },
            ["spec"] = new JsonObject(),
        }, RequestOptions.System);
        node["status"] = new JsonObject
        {
            ["conditions"] = new JsonArray(new JsonObject
            {
                ["type"] = "Ready",
                ["status"] = ready ? "True" : "Unknown",
                ["reason"] = ready ? "KubeletReady" : "NodeStatusUnknown",
                ["message"] = ready ? "kubelet is posting ready status" : "Kubelet stopped posting node status.",
                ["lastHeartbeatTime"] = now,
                ["lastTransitionTime"] = now,
            }),
            ["addresses"] = new JsonArray(new JsonObject { ["type"] = "InternalIP", ["address"] = "127.0.0.1" }, new JsonObject { ["type"] = "Hostname", ["address"] = NodeName }),
            ["capacity"] = new JsonObject(_core.Options.NodeCapacity.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            ["allocatable"] = new JsonObject(_core.Options.NodeCapacity.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            ["nodeInfo"] = new JsonObject { ["kubeletVersion"] = "v1.32.0-kube-emulator", ["operatingSystem"] = "linux", ["architecture"] = "amd64", ["containerRuntimeVersion"] = "local://processes" },
        };
        _core.Service.Update(t, null, NodeName, node, "status", RequestOptions.System with { FieldManager = "kubelet" });
    }

    private async Task ServeLogAsync(HttpContext ctx, string ns, string name)
    {
        var pod = _core.Service.Get(_core.Type("", "pods"), ns, name);
        var containers = Json.Strings(new JsonArray(((Json.At(pod, "spec", "containers") as JsonArray)?.OfType<JsonObject>() ?? []).Select(c => (JsonNode?)JsonValue.Create(Json.Str(c, "name"))).ToArray())).ToList();
        var container = (string?)ctx.Request.Query["container"] ?? (containers.Count == 1 ? containers[0] : null)
            ?? throw ApiException.BadRequest($"a container name must be specified for pod {name}, choose one of: [{string.Join(" ", containers)}]");
        var uid = Json.Str(pod, "metadata", "uid")!;
        var file = Path.Combine(_stateDir, "logs", PodSandbox.DirName(ns, name, uid), container + ".log");
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/plain";
        var follow = ctx.Request.Query["follow"] == "true";
        var tail = int.TryParse(ctx.Request.Query["tailLines"], CultureInfo.InvariantCulture, out var t) ? t : -1;
        long offset = 0;
        if (File.Exists(file) && tail >= 0)
        {
            var lines = await File.ReadAllLinesAsync(file, ctx.RequestAborted);
            var keep = lines.Skip(Math.Max(0, lines.Length - tail)).ToList();
            await ctx.Response.WriteAsync(string.Concat(keep.Select(l => l + "\n")), ctx.RequestAborted);
            offset = new FileInfo(file).Length;
        }
        while (!ctx.RequestAborted.IsCancellationRequested)
        {
            if (File.Exists(file))
            {
                await using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                fs.Seek(offset, SeekOrigin.Begin);
                await fs.CopyToAsync(ctx.Response.Body, ctx.RequestAborted);
                offset = fs.Position;
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            }
            if (!follow || !ContainerMayWriteMore(ns, name, uid, container))
            {
                // One more read catches what was written between the copy and the check.
                if (follow && File.Exists(file) && new FileInfo(file).Length > offset)
                {
                    continue;
                }
                break;
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), _core.Time, ctx.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Whether a followed log can still grow: the same pod exists and its container is not finished for good.</summary>
    private bool ContainerMayWriteMore(string ns, string name, string uid, string container)
    {
        var pod = _core.Service.TryGet(_core.Type("", "pods"), ns, name);
        if (pod is null || Json.Str(pod, "metadata", "uid") != uid || Json.Str(pod, "status", "phase") is "Succeeded" or "Failed" or "Unknown")
        {
            return false;
        }
        var status = (Json.At(pod, "status", "containerStatuses") as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => Json.Str(c, "name") == container);
        return status is null || Json.At(status, "state", "terminated") is null || _workers.ContainsKey(Key(ns, name));
    }

    /// <summary>Stops every pod's processes (SIGTERM, then SIGKILL after a short grace): server shutdown.</summary>
    internal async Task StopAllAsync(CancellationToken ct)
    {
        await _stop.CancelAsync();
        var workers = _workers.Values.ToList();
        _workers.Clear();
        await Task.WhenAll(workers.Select(w => w.TerminateAsync(2))).WaitAsync(ct);
        await Task.WhenAll(workers.Select(w => w.AbandonAsync()));
    }
}
