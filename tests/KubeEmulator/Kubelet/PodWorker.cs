using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Hosting;

namespace KubeEmulator.KubeletRuntime;

/// <summary>
/// Runs one pod: prepares its sandbox, runs init containers in order and then the containers as local processes,
/// restarts them per restartPolicy with back-off, keeps status like a kubelet, and terminates them on deletion
/// (SIGTERM, then SIGKILL after the grace period) or eviction.
/// </summary>
internal sealed class PodWorker
{
    private readonly ApiServerCore _core;
    private readonly Uri _api;
    private readonly string _stateDir;
    private readonly SemaphoreSlim _statusLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Process> _processes = [];
    private readonly List<ContainerState> _containers = [];
    private readonly List<ContainerState> _initContainers = [];
    private readonly List<JsonObject> _extraConditions = [];
    private JsonObject _pod;
    private bool _initialized;
    private bool _sandboxReady;
    private bool _terminating;
    private bool _abandoned;
    private string? _phaseOverride;
    private string? _reason;
    private string? _message;
    private string? _startTime;
    private Task? _terminateTask;

    public PodWorker(ApiServerCore core, JsonObject pod, Uri api, string stateDir)
    {
        _core = core;
        _pod = pod;
        _api = api;
        _stateDir = stateDir;
        Namespace = Json.Str(pod, "metadata", "namespace")!;
        Name = Json.Str(pod, "metadata", "name")!;
        Uid = Json.Str(pod, "metadata", "uid")!;
        foreach (var c in (Json.At(pod, "spec", "initContainers") as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            _initContainers.Add(new ContainerState(Json.Str(c, "name")!, Json.Str(c, "image")!));
        }
        foreach (var c in (Json.At(pod, "spec", "containers") as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            _containers.Add(new ContainerState(Json.Str(c, "name")!, Json.Str(c, "image")!));
        }
    }

    public string Namespace { get; }
    public string Name { get; }
    public string Uid { get; }
    public Task Completion { get; private set; } = Task.CompletedTask;
    public string LogDir => Path.Combine(_stateDir, "logs", PodSandbox.DirName(Namespace, Name, Uid));

    private string RestartPolicy => Json.Str(_pod, "spec", "restartPolicy") ?? "Always";
    private string Now => Json.Timestamp(_core.Time.GetUtcNow());

    public void Start() => Completion = Task.Run(RunAsync);

    private async Task RunAsync()
    {
        _startTime = Now;
        PodSandbox? sandbox = null;
        var attempt = 0;
        while (sandbox is null && !_stop.IsCancellationRequested)
        {
            try
            {
                sandbox = PodSandbox.Create(_core, _pod, _stateDir, _api);
            }
            catch (ContainerConfigException e)
            {
                foreach (var c in _initContainers.Concat(_containers))
                {
                    c.State = ContainerState.Waiting(e.Reason, e.Message);
                }
                await PublishAsync();
                await DelayAsync(Backoff(++attempt));
            }
        }
        if (sandbox is null)
        {
            return;
        }
        _sandboxReady = true;
        var specs = (Json.At(_pod, "spec", "initContainers") as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        for (var i = 0; i < specs.Count && !_stop.IsCancellationRequested; i++)
        {
            var ok = await RunContainerAsync(_initContainers[i], specs[i], sandbox, init: true);
            if (!ok)
            {
                await PublishAsync();
                return;
            }
        }
        _initialized = true;
        var main = (Json.At(_pod, "spec", "containers") as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        await Task.WhenAll(main.Select((spec, i) => RunContainerAsync(_containers[i], spec, sandbox, init: false)));
        await PublishAsync();
    }

    /// <summary>Runs a container until it will not run again; for init containers returns whether it succeeded.</summary>
    private async Task<bool> RunContainerAsync(ContainerState c, JsonObject spec, PodSandbox sandbox, bool init)
    {
        var backoffs = 0;
        while (!_stop.IsCancellationRequested)
        {
            ProcessStartInfo psi;
            try
            {
                psi = ContainerLaunch.Build(_core, _pod, spec, sandbox, _api, LogDir);
            }
            catch (ContainerConfigException e)
            {
                if (backoffs == 0)
                {
                    PodEvents.Record(_core, _pod, "Warning", "Failed", e.Reason == "ErrImagePull" ? $"Failed to pull image \"{c.Image}\": {e.Message}" : $"Error: {e.Message}");
                }
                c.State = ContainerState.Waiting(e.Reason == "ErrImagePull" && backoffs > 0 ? "ImagePullBackOff" : e.Reason, e.Message);
                await PublishAsync();
                await DelayAsync(Backoff(++backoffs));
                continue;
            }
            var started = Now;
            Process? p;
            lock (_lock)
            {
                if (_stop.IsCancellationRequested)
                {
                    return false;
                }
                try
                {
                    p = Process.Start(psi);
                }
                catch (Win32Exception e)
                {
                    p = null;
                    c.State = ContainerState.Terminated(128, "StartError", started, Now, null, $"failed to start {psi.FileName}: {e.Message}");
                }
                if (p is not null)
                {
                    PodEvents.Record(_core, _pod, "Normal", "Started", $"Started container {c.Name}");
                    _processes[c.Name] = p;
                    c.Pid = p.Id;
                    c.State = ContainerState.RunningSince(started);
                }
            }
            int exitCode;
            if (p is null)
            {
                exitCode = 128;
                await PublishAsync();
            }
            else
            {
                using (p)
                {
                    p.StandardInput.Close();
                    var log = Path.Combine(LogDir, c.Name + ".log");
                    await using var logStream = new FileStream(log, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
                    await using var writer = new StreamWriter(logStream) { AutoFlush = true };
                    var pump = Task.WhenAll(PumpAsync(p.StandardOutput, writer), PumpAsync(p.StandardError, writer));
                    await PublishAsync();
                    await p.WaitForExitAsync(CancellationToken.None);
                    exitCode = p.ExitCode;
                    // The container's leftovers die with it; their pipes then close and the log pump ends.
                    NativeSignals.Send(-p.Id, NativeSignals.SigKill);
                    await Task.WhenAny(pump, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
                }
                lock (_lock)
                {
                    _processes.Remove(c.Name);
                }
                c.State = ContainerState.Terminated(exitCode, exitCode == 0 ? "Completed" : "Error", started, Now, c.Pid);
            }
            c.ExitCode = exitCode;
            var restart = !_stop.IsCancellationRequested && !init && (RestartPolicy == "Always" || RestartPolicy == "OnFailure" && exitCode != 0)
                || !_stop.IsCancellationRequested && init && exitCode != 0 && RestartPolicy != "Never";
            if (!restart)
            {
                c.Done = true;
                await PublishAsync();
                return exitCode == 0;
            }
            c.RestartCount++;
            c.LastState = c.State;
            backoffs++;
            c.State = ContainerState.Waiting("CrashLoopBackOff", $"back-off restarting failed container {c.Name} in pod {Name}_{Namespace}({Uid})");
            PodEvents.Record(_core, _pod, "Warning", "BackOff", $"Back-off restarting failed container {c.Name} in pod {Name}_{Namespace}({Uid})");
            await PublishAsync();
            await DelayAsync(Backoff(backoffs));
        }
        return false;
    }

    private static async Task PumpAsync(StreamReader from, StreamWriter to)
    {
        var buffer = new char[4096];
        int n;
        try
        {
            while ((n = await from.ReadAsync(buffer)) > 0)
            {
                lock (to)
                {
                    to.Write(buffer, 0, n);
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException)
        {
            // The container is gone and its log closed while a leftover still held the pipe.
        }
    }

    private TimeSpan Backoff(int n)
    {
        var o = _core.Options;
        var ms = o.RestartBackoff.TotalMilliseconds * Math.Pow(2, Math.Max(0, n - 1));
        return TimeSpan.FromMilliseconds(Math.Min(ms, o.MaxRestartBackoff.TotalMilliseconds));
    }

    private async Task DelayAsync(TimeSpan d)
    {
        try
        {
            await Task.Delay(d, _core.Time, _stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Signals every running container (a crash: the restart policy applies).</summary>
    public void Signal(bool hard)
    {
        List<Process> running;
        lock (_lock)
        {
            running = [.. _processes.Values];
        }
        foreach (var p in running)
        {
            SignalProcess(p, hard);
        }
    }

    private static void SignalProcess(Process p, bool hard)
    {
        try
        {
            if (hard)
            {
                NativeSignals.Send(-p.Id, NativeSignals.SigKill);
                p.Kill(entireProcessTree: true);
            }
            else
            {
                NativeSignals.Send(p.Id, NativeSignals.SigTerm);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception)
        {
            // Already exited.
        }
    }

    /// <summary>Stops the pod: SIGTERM, SIGKILL after the grace period; then the final status. Idempotent.</summary>
    public Task TerminateAsync(long graceSeconds, JsonObject? disruption = null, string? phase = null, string? reason = null, string? message = null)
    {
        lock (_lock)
        {
            if (disruption is not null)
            {
                _extraConditions.Add(disruption);
            }
            _phaseOverride ??= phase;
            _reason ??= reason;
            _message ??= message;
            if (_terminateTask is not null)
            {
                return _terminateTask;
            }
            _terminating = true;
            _stop.Cancel();
            _terminateTask = Task.Run(async () =>
            {
                if (disruption is not null)
                {
                    await PublishAsync();
                }
                foreach (var c in _containers.Where(c => c.Running))
                {
                    PodEvents.Record(_core, _pod, "Normal", "Killing", $"Stopping container {c.Name}");
                }
                Signal(hard: false);
                var deadline = _core.Time.GetUtcNow().AddSeconds(graceSeconds);
                while (_core.Time.GetUtcNow() < deadline && AnyRunning())
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), _core.Time);
                }
                if (AnyRunning())
                {
                    Signal(hard: true);
                }
                await Completion;
                foreach (var c in _initContainers.Concat(_containers).Where(c => !c.State.ContainsKey("terminated")))
                {
                    c.State = ContainerState.Terminated(137, "ContainerStatusUnknown", null, Now, c.Pid, "The container could not be located when the pod was terminated");
                }
                await PublishAsync();
            });
            return _terminateTask;
        }
    }

    /// <summary>Kills everything at once with no further status writes (the pod object is gone, or the node is lost).</summary>
    public async Task AbandonAsync()
    {
        lock (_lock)
        {
            _abandoned = true;
            _stop.Cancel();
        }
        Signal(hard: true);
        await Completion;
    }

    private bool AnyRunning()
    {
        lock (_lock)
        {
            return _processes.Values.Any(p =>
            {
                try
                {
                    return !p.HasExited;
                }
                catch (InvalidOperationException)
                {
                    return false;
                }
            });
        }
    }

    private string Phase()
    {
        if (_phaseOverride is not null)
        {
            return _phaseOverride;
        }
        var all = _containers;
        if (all.All(c => c.Done))
        {
            return all.All(c => c.ExitCode == 0) && _initContainers.All(c => c.ExitCode == 0) ? "Succeeded" : "Failed";
        }
        if (_initContainers.Any(c => c.Done && c.ExitCode != 0))
        {
            return "Failed";
        }
        if (_terminating && all.All(c => !c.Running))
        {
            return all.All(c => c.ExitCode == 0) ? "Succeeded" : "Failed";
        }
        return _initialized && all.Any(c => c.Running || c.State.ContainsKey("terminated") || c.RestartCount > 0) ? "Running" : "Pending";
    }

    private JsonObject BuildStatus(JsonObject current)
    {
        var phase = Phase();
        var now = Now;
        var ready = _containers.All(c => c.Running) && phase == "Running";
        var conditions = new JsonArray();
        void Cond(string type, bool status, string? reason = null)
        {
            var existing = (Json.At(current, "status", "conditions") as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => Json.Str(c, "type") == type);
            var s = status ? "True" : "False";
            var c = new JsonObject
            {
                ["type"] = type,
                ["status"] = s,
                ["lastProbeTime"] = null,
                ["lastTransitionTime"] = Json.Str(existing, "status") == s ? Json.Str(existing, "lastTransitionTime") : now,
            };
            if (reason is not null)
            {
                c["reason"] = reason;
            }
            conditions.Add(c);
        }
        Cond("PodReadyToStartContainers", _sandboxReady);
        Cond("Initialized", _initialized, _initialized ? null : "ContainersNotInitialized");
        Cond("Ready", ready, ready ? null : phase is "Succeeded" or "Failed" ? "PodCompleted" : "ContainersNotReady");
        Cond("ContainersReady", ready, ready ? null : phase is "Succeeded" or "Failed" ? "PodCompleted" : "ContainersNotReady");
        Cond("PodScheduled", true);
        foreach (var extra in _extraConditions)
        {
            conditions.Add(extra.DeepClone());
        }
        // Conditions other writers own (DisruptionTarget from the Eviction API, readiness gates) are kept.
        string[] mine = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"];
        foreach (var other in (Json.At(current, "status", "conditions") as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var type = Json.Str(other, "type");
            if (!mine.Contains(type) && !conditions.OfType<JsonObject>().Any(c => Json.Str(c, "type") == type))
            {
                conditions.Add(other.DeepClone());
            }
        }
        var status = new JsonObject
        {
            ["phase"] = phase,
            ["conditions"] = conditions,
            ["hostIP"] = "127.0.0.1",
            ["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = "127.0.0.1" }),
            ["podIP"] = "127.0.0.1",
            ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = "127.0.0.1" }),
            ["startTime"] = _startTime,
            ["qosClass"] = Json.Str(current, "status", "qosClass") ?? "BestEffort",
        };
        if (_reason is not null)
        {
            status["reason"] = _reason;
        }
        if (_message is not null)
        {
            status["message"] = _message;
        }
        if (_initContainers.Count > 0)
        {
            status["initContainerStatuses"] = new JsonArray(_initContainers.Select(c => (JsonNode)c.ToStatus()).ToArray());
        }
        status["containerStatuses"] = new JsonArray(_containers.Select(c => (JsonNode)c.ToStatus()).ToArray());
        return status;
    }

    /// <summary>Writes the pod's status through the status subresource, like the kubelet's status manager.</summary>
    public async Task PublishAsync()
    {
        if (_abandoned)
        {
            return;
        }
        await _statusLock.WaitAsync();
        try
        {
            var t = _core.Type("", "pods");
            for (var attempt = 0; attempt < 10 && !_abandoned; attempt++)
            {
                var current = _core.Service.TryGet(t, Namespace, Name);
                if (current is null || Json.Str(current, "metadata", "uid") != Uid)
                {
                    return;
                }
                _pod = current;
                current["status"] = BuildStatus(current);
                try
                {
                    _core.Service.Update(t, Namespace, Name, current, "status", RequestOptions.System with { FieldManager = "kubelet" });
                    return;
                }
                catch (ApiException e) when (e.Code == 409)
                {
                    // Raced with a client write: read again.
                }
                catch (ApiException e) when (e.Code == 404)
                {
                    return;
                }
            }
        }
        finally
        {
            _statusLock.Release();
        }
    }
}
