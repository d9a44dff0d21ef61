using System.Diagnostics;
using System.Globalization;
using System.Text;
using BiT.Operator.Controllers;
using BiT.Operator.Hosting;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using OperatorBench;

// usage: OperatorBench [--jobs 1000] [--memory-jobs 5000] [--quiet-seconds 30]
var jobs = Arg("--jobs", 1000);
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
{
    await using var cluster = await BenchCluster.StartAsync(root);
    var dir = Directory.CreateTempSubdirectory("operator-bench-").FullName;
    var kubeconfig = cluster.Server.WriteKubeconfig(Path.Combine(dir, "kubeconfig"));
    var dll = Path.Combine(AppContext.BaseDirectory, "bit-operator.dll");
    var psi = new ProcessStartInfo("dotnet", $"{dll} run --kubeconfig {kubeconfig} --namespace {BenchCluster.Namespace} --leader-elect false --metrics-port 0 --parallelism 8")
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
    };
    // As the Helm chart runs it.
    psi.Environment["DOTNET_EnableWriteXorExecute"] = "0";
    psi.Environment["DOTNET_GCgen0size"] = "0x800000";
    using var op = Process.Start(psi)!;
    _ = op.StandardOutput.ReadToEndAsync();
    _ = op.StandardError.ReadToEndAsync();
    await Task.Delay(5000);
    var idle = Rss(op.Id);
    var idleAnon = Rss(op.Id, "RssAnon:");
    var sw = Stopwatch.StartNew();
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

    await Task.Delay(5000);
    var peak = 0L;
    var anon = 0L;
    for (var i = 0; i < 10; i++)
    {
        peak = Math.Max(peak, Rss(op.Id));
        anon = Math.Max(anon, Rss(op.Id, "RssAnon:"));
        await Task.Delay(500);
    }

    Say($"");
    Say($"{memoryJobs} jobs, operator as its own process (bit-operator run):");
    Say(string.Create(inv, $"- apply {apply.TotalSeconds:0.0} s; every job has its pod after {toPods.TotalSeconds:0.0} s ({toPods / apply:0.00}x the apply)"));
    Say(string.Create(inv, $"- resident memory (VmRSS): idle (0 jobs, caches synced) {idle / 1048576.0:0.0} MiB (baseline); with {memoryJobs} jobs and their pods cached {peak / 1048576.0:0.0} MiB ({(double)peak / idle:0.00}x the baseline); of which private (RssAnon) {idleAnon / 1048576.0:0.0} -> {anon / 1048576.0:0.0} MiB"));
    op.Kill(entireProcessTree: true);
    await op.WaitForExitAsync();
}

var output = Path.Combine(root, "bench", "OperatorBench", "last-run.txt");
await File.WriteAllTextAsync(output, report.ToString());
Console.WriteLine($"written to {output}");
return 0;

static string RunningPatch(DateTime now)
{
    var t = now.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
    return "{\"status\":{\"phase\":\"Running\",\"startTime\":\"" + t + "\",\"containerStatuses\":[{\"name\":\"trainer\",\"image\":\"t\",\"imageID\":\"\","
        + "\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{\"startedAt\":\"" + t + "\"}}}]}}";
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
