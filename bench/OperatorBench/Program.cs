using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using BiT.Contracts;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using BiT.Operator.Hosting;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using OperatorBench;

// usage: OperatorBench [--jobs 1000] [--memory-jobs 5000] [--quiet-seconds 30] [--memory-only] [--mappings] [--settle-seconds 15]
//                      [--operator-env NAME=VALUE]...
// --memory-only skips part 1 (--memory-jobs 0 skips part 2); --mappings also prints where the operator's resident memory lies (/proc/PID/smaps);
// --operator-env adds an environment variable to the operator process of part 2 (to compare runtime settings);
// --settle-seconds is how long part 2 waits after the last job's status before it measures (default 15);
// --cache-cost measures in this process what the cached jobs and pods of part 2 weigh as objects;
// --hold-seconds keeps that operator running so long at the end (its pid is printed), to inspect it from outside.
var jobs = Arg("--jobs", 1000);
var memoryOnly = args.Contains("--memory-only");
var mappings = args.Contains("--mappings");
var holdSeconds = Arg("--hold-seconds", 0);
var cacheCost = args.Contains("--cache-cost");
var settleSeconds = Arg("--settle-seconds", 15);
var operatorEnv = args.Select((a, i) => (a, i)).Where(p => p.a == "--operator-env" && p.i + 1 < args.Length).Select(p => args[p.i + 1].Split('=', 2)).ToList();
var memoryJobs = Arg("--memory-jobs", 5000);
var quietSeconds = Arg("--quiet-seconds", 30);
var root = FindRoot();
var inv = CultureInfo.InvariantCulture;
var report = new StringBuilder();
void Say(string line)
{
    Console.WriteLine(line);
    report.AppendLine(line);
}

Say($"machine: {Environment.ProcessorCount} logical CPUs ({CpuModel()}), {Environment.OSVersion}, .NET {Environment.Version}");

// ---- 1. N jobs applied at once, operator in this process ----------------------------------------------------
if (!memoryOnly)
{
    await using var cluster = await BenchCluster.StartAsync(root);
    var opToken = cluster.Server.IssueUserToken("bit-operator", "system:masters");
    const string opUser = "bit-operator";
    using var client = cluster.Server.CreateClient(opToken);
    using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
    var settings = new OperatorSettings
    {
        Namespaces = [BenchCluster.Namespace],
        Controller = new ControllerOptions { TrainerImage = "ghcr.io/bit-operator/trainer:0.1.0" },
        Parallelism = 8,
        ResyncPeriod = TimeSpan.FromSeconds(10),
        MetricsPort = null,
        Identity = "bench",
        // This process also holds the emulator's heap: a forced full GC here would collect (and pause) that too.
        // Part 2 runs the operator as its own process, with the trimmer.
        TrimMemory = false,
    };
    var host = new OperatorHost(client, settings, new ContractsJobPlanner(), TimeProvider.System, loggerFactory);
    host.Metrics.DurationSamples = new();
    using var stop = new CancellationTokenSource();
    var run = host.RunAsync(stop.Token);
    while (host.Controller is not { HasSynced: true })
    {
        await Task.Delay(50);
    }

    var sw = Stopwatch.StartNew();
    var apply = await cluster.ApplyAsync(0, jobs);
    while (cluster.Server.Requests.Count("create", "pods", opUser) < jobs)
    {
        await Task.Delay(50);
    }

    var toPods = sw.Elapsed;
    while (await cluster.JobsWithPodNameAsync() < jobs)
    {
        await Task.Delay(200);
    }

    var toStatus = sw.Elapsed;
    await Task.Delay(2000);
    var pods = (await cluster.Admin.CoreV1.ListNamespacedPodAsync(BenchCluster.Namespace)).Items.Count;
    var counts = cluster.Server.Requests.Counts.Where(kv => kv.Key.User == opUser).ToList();
    var writes = cluster.Server.Requests.Writes(user: opUser);
    var requests = cluster.Server.Requests.Count(user: opUser);
    Say($"");
    Say($"{jobs} fine-tune jobs applied at once (32 concurrent creates; operator parallelism {settings.Parallelism}):");
    Say(string.Create(inv, $"- apply (baseline, client side): {apply.TotalSeconds:0.00} s; every job has its pod after {toPods.TotalSeconds:0.00} s ({toPods / apply:0.00}x the apply); every status written after {toStatus.TotalSeconds:0.00} s ({toStatus / apply:0.00}x); pods {pods}"));
    Say(string.Create(inv, $"- operator API requests per job from apply to pod + Pending status: {(double)requests / jobs:0.00} (writes {(double)writes / jobs:0.00})"));
    foreach (var ((verb, resource, _), n) in counts.OrderByDescending(kv => kv.Value))
    {
        Say(string.Create(inv, $"  - {verb} {resource}: {n} ({(double)n / jobs:0.00}/job)"));
    }

    // The kubelet would report Running; here the bench does it for every pod, and counts the operator's writes.
    var writesBefore = cluster.Server.Requests.Writes(user: opUser);
    using (var gate = new SemaphoreSlim(32))
    {
        await Task.WhenAll(Enumerable.Range(0, jobs).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                await cluster.Admin.CoreV1.PatchNamespacedPodStatusAsync(
                    new V1Patch(RunningPatch(DateTime.UtcNow), V1Patch.PatchType.MergePatch),
                    $"job-{i:D5}-run-1", BenchCluster.Namespace);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    while (await cluster.JobsInPhaseAsync("Running") < jobs)
    {
        await Task.Delay(200);
    }

    var runningWrites = cluster.Server.Requests.Writes(user: opUser) - writesBefore;
    Say(string.Create(inv, $"- pod Pending -> Running: {(double)runningWrites / jobs:0.00} operator writes per job (the status phase); apply -> Running in all: {(double)(writes + runningWrites) / jobs:0.00} writes per job"));

    var samples = host.Metrics.DurationSamples.ToArray();
    Array.Sort(samples);
    Say(string.Create(inv, $"- reconcile latency over {samples.Length} reconciles: p50 {Percentile(samples, 0.50) * 1000:0.00} ms, p99 {Percentile(samples, 0.99) * 1000:0.00} ms, max {samples[^1] * 1000:0.00} ms"));

    // Quiet: every job is settled; resyncs (every 10 s) and stall requeues still reconcile.
    await Task.Delay(3000);
    var quietWrites = cluster.Server.Requests.Writes(user: opUser);
    var quietReconciles = host.Controller!.Reconciles;
    await Task.Delay(TimeSpan.FromSeconds(quietSeconds));
    Say($"- nothing changing for {quietSeconds} s: {host.Controller!.Reconciles - quietReconciles} reconciles (resyncs), {cluster.Server.Requests.Writes(user: opUser) - quietWrites} writes");
    await stop.CancelAsync();
    await run;
}

// ---- 2. memory with M jobs, operator as its own process -----------------------------------------------------
if (memoryJobs > 0)
{
    await using var cluster = await BenchCluster.StartAsync(root);
    var dir = Directory.CreateTempSubdirectory("operator-bench-").FullName;
    var kubeconfig = cluster.Server.WriteKubeconfig(Path.Combine(dir, "kubeconfig"));
    var dll = Path.Combine(AppContext.BaseDirectory, "bit-operator.dll");
    foreach (var kv in operatorEnv)
    {
        Say($"operator environment: {kv[0]}={(kv.Length > 1 ? kv[1] : "")}");
    }

    (Process Process, Task<int> MetricsPort) StartOperator()
    {
        var psi = new ProcessStartInfo("dotnet", $"{dll} run --kubeconfig {kubeconfig} --namespace {BenchCluster.Namespace} --leader-elect false --metrics-port 0 --parallelism 8")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // As the Helm chart runs it.
        psi.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        psi.Environment["DOTNET_GCgen0size"] = "0x800000";
        psi.Environment["DOTNET_TieredPGO"] = "0";
        psi.Environment["MALLOC_ARENA_MAX"] = "2";
        foreach (var kv in operatorEnv)
        {
            psi.Environment[kv[0]] = kv.Length > 1 ? kv[1] : "";
        }

        var process = Process.Start(psi)!;
        var port = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                var at = line.IndexOf("metrics on port ", StringComparison.Ordinal);
                if (at >= 0 && int.TryParse(line.AsSpan(at + "metrics on port ".Length).Trim(), CultureInfo.InvariantCulture, out var p))
                {
                    port.TrySetResult(p);
                }
            }
        });
        _ = process.StandardError.ReadToEndAsync();
        return (process, port.Task);
    }

    var (op, metricsPortTask) = StartOperator();
    await Task.Delay(5000);
    var idle = Rss(op.Id);
    var idleAnon = Rss(op.Id, "RssAnon:");
    var idleHeap = await GcHeapAsync(metricsPortTask);
    if (mappings)
    {
        Say("idle operator, resident memory by mapping:");
        foreach (var line in Mappings(op.Id))
        {
            Say(line);
        }
    }

    var sw = Stopwatch.StartNew();
    var burstPeak = 0L;
    using var sampling = new CancellationTokenSource();
    var sampler = Task.Run(async () =>
    {
        while (!sampling.IsCancellationRequested)
        {
            burstPeak = Math.Max(burstPeak, Rss(op.Id));
            await Task.Delay(200);
        }
    });
    var apply = await cluster.ApplyAsync(0, memoryJobs);
    while (cluster.Server.Requests.Count("create", "pods") < memoryJobs)
    {
        await Task.Delay(250);
    }

    var toPods = sw.Elapsed;
    while (await cluster.JobsWithPodNameAsync() < memoryJobs)
    {
        await Task.Delay(500);
    }

    await sampling.CancelAsync();
    await sampler;

    // Settled: every job has its pod and its status; the operator only resyncs from here on.
    await Task.Delay(TimeSpan.FromSeconds(settleSeconds));
    var peak = 0L;
    var anon = 0L;
    for (var i = 0; i < 10; i++)
    {
        peak = Math.Max(peak, Rss(op.Id));
        anon = Math.Max(anon, Rss(op.Id, "RssAnon:"));
        await Task.Delay(500);
    }

    var heap = await GcHeapAsync(metricsPortTask);
    var settledGc = await GcDetailAsync(metricsPortTask);
    await Task.Delay(TimeSpan.FromSeconds(settleSeconds));
    var afterScrape = Rss(op.Id);
    Say($"");
    Say($"{memoryJobs} jobs, operator as its own process (bit-operator run):");
    Say(string.Create(inv, $"- apply {apply.TotalSeconds:0.0} s; every job has its pod after {toPods.TotalSeconds:0.0} s ({toPods / apply:0.00}x the apply)"));
    Say(string.Create(inv, $"- resident memory (VmRSS): idle (0 jobs, caches synced) {idle / 1048576.0:0.0} MiB (baseline); with {memoryJobs} jobs and their pods cached {peak / 1048576.0:0.0} MiB ({(double)peak / idle:0.00}x the baseline); of which private (RssAnon) {idleAnon / 1048576.0:0.0} -> {anon / 1048576.0:0.0} MiB; managed heap (the operator's dotnet_total_memory_bytes) {idleHeap / 1048576.0:0.0} -> {heap / 1048576.0:0.0} MiB"));
    Say($"  - managed heap after the operator's last GC: {settledGc}");
    Say(string.Create(inv, $"- while the jobs were applied and reconciled (sampled every 200 ms): at most {burstPeak / 1048576.0:0.0} MiB; the settled figure above is measured {settleSeconds} s after the last status was written"));
    Say(string.Create(inv, $"- {settleSeconds} s after one /metrics scrape (which adds {memoryJobs} jobs' per-job series): {afterScrape / 1048576.0:0.0} MiB"));
    if (mappings)
    {
        Say($"operator with {memoryJobs} jobs, resident memory by mapping:");
        foreach (var line in Mappings(op.Id))
        {
            Say(line);
        }
    }

    if (cacheCost)
    {
        var jobJson = (await cluster.Admin.CustomObjects.ListNamespacedCustomObjectAsync(ApiInfo.Group, ApiInfo.Version, BenchCluster.Namespace, JobKind.FineTune.Plural)) is JsonElement list
            ? list.GetProperty("items").EnumerateArray().Select(e => e.GetRawText()).ToList()
            : [];
        var podJson = (await cluster.Admin.CoreV1.ListNamespacedPodAsync(BenchCluster.Namespace)).Items.Select(p => KubernetesJson.Serialize(p)).ToList();
        Say(string.Create(inv, $"- as JSON: a job {jobJson.Average(j => j.Length):0} chars, a pod {podJson.Average(j => j.Length):0} chars"));
        Say(string.Create(inv, $"- sample job: {jobJson[0]}"));
        Say(string.Create(inv, $"- sample pod status: {KubernetesJson.Serialize(KubernetesJson.Deserialize<V1Pod>(podJson[0]).Status)}"));
        long Weigh<T>(List<string> json, Func<string, T> make)
        {
            var before = GC.GetTotalMemory(true);
            var kept = json.Select(make).ToList();
            var after = GC.GetTotalMemory(true);
            GC.KeepAlive(kept);
            return (after - before) / json.Count;
        }

        var jobBytes = Weigh(jobJson, j => JobController.SlimJob(KubernetesJson.Deserialize<JobObject>(j)));
        var podBytes = Weigh(podJson, j => JobController.SlimPod(KubernetesJson.Deserialize<V1Pod>(j)));
        Say(string.Create(inv, $"- cached as objects (slimmed as the informers keep them): a job {jobBytes} bytes, a pod {podBytes} bytes"));
    }

    if (holdSeconds > 0)
    {
        Console.WriteLine($"holding operator pid {op.Id} for {holdSeconds} s");
        await Task.Delay(TimeSpan.FromSeconds(holdSeconds));
    }

    op.Kill(entireProcessTree: true);
    await op.WaitForExitAsync();
    op.Dispose();

    // A restart with every job in place: the informers' first list carries all of them (in pages).
    // Resident memory is sampled every 5 s with no scrape (a scrape allocates too), then the heap is read once.
    var writesBeforeRestart = cluster.Server.Requests.Writes();
    var (again, againPort) = StartOperator();
    var restartWindow = 2 * (settleSeconds + 10);
    var timeline = new List<string>();
    var restartRss = 0L;
    var restartAnon = 0L;
    for (var t = 5; t <= restartWindow; t += 5)
    {
        await Task.Delay(TimeSpan.FromSeconds(5));
        var rss = Rss(again.Id);
        timeline.Add(string.Create(inv, $"{t} s {rss / 1048576.0:0.0}"));
        if (t >= restartWindow - 5)
        {
            restartRss = Math.Max(restartRss, rss);
            restartAnon = Math.Max(restartAnon, Rss(again.Id, "RssAnon:"));
        }
    }

    var restartWrites = cluster.Server.Requests.Writes() - writesBeforeRestart;
    var restartHeap = await GcHeapAsync(againPort);
    var restartGc = await GcDetailAsync(againPort);
    Say(string.Create(inv, $"- restarted with the {memoryJobs} jobs and pods in place, resident memory every 5 s (MiB): {string.Join(", ", timeline)}"));
    Say(string.Create(inv, $"- restarted, {restartWindow - 5}-{restartWindow} s after start: {restartRss / 1048576.0:0.0} MiB; private (RssAnon) {restartAnon / 1048576.0:0.0} MiB; managed heap {restartHeap / 1048576.0:0.0} MiB; API writes since the restart {restartWrites}"));
    Say($"  - managed heap after the operator's last GC: {restartGc}");
    await Task.Delay(TimeSpan.FromSeconds(settleSeconds + 10));
    Say(string.Create(inv, $"- {settleSeconds + 10} s after that scrape: {Rss(again.Id) / 1048576.0:0.0} MiB; private (RssAnon) {Rss(again.Id, "RssAnon:") / 1048576.0:0.0} MiB"));
    again.Kill(entireProcessTree: true);
    await again.WaitForExitAsync();
    again.Dispose();
}

var output = Path.Combine(Path.GetTempPath(), "operator-bench-last-run.txt");
await File.WriteAllTextAsync(output, report.ToString());
Console.WriteLine($"written to {output}");
return 0;

static string RunningPatch(DateTime now)
{
    var t = now.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
    return "{\"status\":{\"phase\":\"Running\",\"startTime\":\"" + t + "\",\"containerStatuses\":[{\"name\":\"trainer\",\"image\":\"t\",\"imageID\":\"\","
        + "\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{\"startedAt\":\"" + t + "\"}}}]}}";
}

// The operator's own report of its managed heap (GC.GetTotalMemory), scraped from its /metrics; -1 if unavailable.
static async Task<double> GcHeapAsync(Task<int> port)
{
    if (await Task.WhenAny(port, Task.Delay(1000)) != port)
    {
        return -1048576;
    }

    using var http = new HttpClient();
    var text = await http.GetStringAsync($"http://127.0.0.1:{await port}/metrics");
    var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("dotnet_total_memory_bytes ", StringComparison.Ordinal));
    return line is null ? -1048576 : double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
}

// The operator's GC.GetGCMemoryInfo (bit_operator_gc_* series): what the last GC left per generation, free space, committed.
static async Task<string> GcDetailAsync(Task<int> port)
{
    if (await Task.WhenAny(port, Task.Delay(1000)) != port)
    {
        return "unavailable";
    }

    using var http = new HttpClient();
    var text = await http.GetStringAsync($"http://127.0.0.1:{await port}/metrics");
    var inv = CultureInfo.InvariantCulture;
    var parts = text.Split('\n')
        .Where(l => l.StartsWith("bit_operator_gc_", StringComparison.Ordinal))
        .Select(l => l.Split(' '))
        .Select(p => string.Create(inv, $"{p[0].Replace("bit_operator_gc_", "", StringComparison.Ordinal).Replace("heap_bytes{generation=", "", StringComparison.Ordinal).Replace("}", "", StringComparison.Ordinal).Replace("\"", "", StringComparison.Ordinal).Replace("_bytes", "", StringComparison.Ordinal)} {double.Parse(p[1], inv) / 1048576.0:0.0}"));
    return string.Join(", ", parts) + " MiB";
}

static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

static long Rss(int pid, string field = "VmRSS:")
{
    foreach (var line in File.ReadLines($"/proc/{pid}/status"))
    {
        if (line.StartsWith(field, StringComparison.Ordinal))
        {
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
    }

    return 0;
}

// Resident memory grouped by what is mapped (a file's name, or [anon], [heap], [stack]...), largest first.
static IEnumerable<string> Mappings(int pid)
{
    var byName = new Dictionary<string, (long Rss, long Anon)>(StringComparer.Ordinal);
    var current = "?";
    foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length >= 5 && parts[0].Contains('-', StringComparison.Ordinal) && !parts[0].EndsWith(':'))
        {
            current = parts.Length >= 6 ? Path.GetFileName(parts[5]) is { Length: > 0 } f ? f : parts[5] : "[anon]";
            continue;
        }

        if (parts.Length >= 2 && (parts[0] == "Rss:" || parts[0] == "Anonymous:"))
        {
            var kb = long.Parse(parts[1], CultureInfo.InvariantCulture);
            var (rss, anon) = byName.GetValueOrDefault(current);
            byName[current] = parts[0] == "Rss:" ? (rss + kb, anon) : (rss, anon + kb);
        }
    }

    var inv = CultureInfo.InvariantCulture;
    foreach (var (name, (rss, anon)) in byName.OrderByDescending(kv => kv.Value.Rss).Take(25))
    {
        yield return string.Create(inv, $"  {rss / 1024.0,7:0.0} MiB ({anon / 1024.0:0.0} anonymous)  {name}");
    }

    yield return string.Create(inv, $"  {byName.Values.Sum(v => v.Rss) / 1024.0,7:0.0} MiB in all");
}

static string CpuModel()
{
    try
    {
        return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
    }
    catch (IOException)
    {
        return "unknown";
    }
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "BiT.Operator.sln")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("BiT.Operator.sln not found");
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
}
