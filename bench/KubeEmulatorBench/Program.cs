using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KubeEmulator;

// List and watch latency and memory of the emulator with many objects and watchers. Every time is also given as a
// ratio to a baseline measured in this same process: serializing the same objects with System.Text.Json (lists),
// and a minimal HTTPS round trip to /version (watch delivery).
var objects = Arg("--objects", 10_000);
var watchers = Arg("--watchers", 100);
var updates = Arg("--updates", 200);
var listRuns = Arg("--list-runs", 10);

var before = Memory();
await using var server = await KubeEmulatorServer.StartAsync(new EmulatorOptions { WatchHistory = objects * 2 + updates * 2 + 1000 });
using var http = Client();
const string ns = "bench";
await Send(HttpMethod.Post, "/api/v1/namespaces", """{"metadata":{"name":"bench"}}""");

// Create the objects with some concurrency (the way a controller warm-up would).
var create = Stopwatch.StartNew();
var payload = new string('x', 200);
await Parallel.ForEachAsync(Enumerable.Range(0, objects), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
    await Send(HttpMethod.Post, $"/api/v1/namespaces/{ns}/configmaps", $$$"""{"metadata":{"name":"cm-{{{i:D5}}}","labels":{"group":"g{{{i % 10}}}"}},"data":{"payload":"{{{payload}}}"}}"""));
create.Stop();
var afterLoad = Memory();

// Baselines, same process.
var items = JsonNode.Parse(await Send(HttpMethod.Get, $"/api/v1/namespaces/{ns}/configmaps"))!["items"]!.AsArray();
var serialize = Median(listRuns, () =>
{
    _ = JsonSerializer.SerializeToUtf8Bytes(items);
    return Task.CompletedTask;
});
var roundTrip = Median(50, async () => await Send(HttpMethod.Get, "/version"));

// Lists.
var listAll = Median(listRuns, async () => await Send(HttpMethod.Get, $"/api/v1/namespaces/{ns}/configmaps"));
var listPaged = Median(listRuns, async () =>
{
    string? cont = null;
    do
    {
        var page = JsonNode.Parse(await Send(HttpMethod.Get, $"/api/v1/namespaces/{ns}/configmaps?limit=500" + (cont is null ? "" : "&continue=" + Uri.EscapeDataString(cont))))!;
        cont = (string?)page["metadata"]!["continue"];
    }
    while (!string.IsNullOrEmpty(cont));
});
var listSelected = Median(listRuns, async () => await Send(HttpMethod.Get, $"/api/v1/namespaces/{ns}/configmaps?labelSelector=group%3Dg3"));
var listTable = Median(listRuns, async () => await Send(HttpMethod.Get, $"/api/v1/namespaces/{ns}/configmaps", accept: "application/json;as=Table;v=v1;g=meta.k8s.io"));

// Watchers: all start from the list's resourceVersion, then we patch objects and time each delivery.
var rv = (string)JsonNode.Parse(await Send(HttpMethod.Get, $"/api/v1/namespaces/{ns}/configmaps?limit=1"))!["metadata"]!["resourceVersion"]!;
var sent = new Dictionary<string, long>();
var latencies = new List<double>();
var received = 0;
using var stop = new CancellationTokenSource();
var ready = new CountdownEvent(watchers);
var watchTasks = Enumerable.Range(0, watchers).Select(_ => Task.Run(async () =>
{
    using var client = Client();
    using var resp = await client.GetAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv}", HttpCompletionOption.ResponseHeadersRead, stop.Token);
    using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(stop.Token));
    ready.Signal();
    try
    {
        while (await reader.ReadLineAsync(stop.Token) is { } line)
        {
            var now = Stopwatch.GetTimestamp();
            var name = (string?)JsonNode.Parse(line)!["object"]!["metadata"]!["name"];
            lock (sent)
            {
                if (name is not null && sent.TryGetValue(name, out var t0))
                {
                    latencies.Add(Stopwatch.GetElapsedTime(t0, now).TotalMilliseconds);
                    received++;
                }
            }
        }
    }
    catch (OperationCanceledException)
    {
        // Done.
    }
})).ToList();
ready.Wait(TimeSpan.FromSeconds(60));
var watchMemory = Memory();
var updateClock = Stopwatch.StartNew();
for (var i = 0; i < updates; i++)
{
    var name = $"cm-{i * (objects / updates):D5}";
    lock (sent)
    {
        sent[name] = Stopwatch.GetTimestamp();
    }
    await Send(HttpMethod.Patch, $"/api/v1/namespaces/{ns}/configmaps/{name}", $$$"""{"data":{"n":"{{{i}}}"}}""", "application/merge-patch+json");
}
var deadline = Stopwatch.StartNew();
while (Volatile.Read(ref received) < updates * watchers && deadline.Elapsed < TimeSpan.FromSeconds(120))
{
    await Task.Delay(50);
}
updateClock.Stop();
await stop.CancelAsync();
await Task.WhenAll(watchTasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
latencies.Sort();

var cpu = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() : "unknown";
var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"Machine: {cpu}, {Environment.ProcessorCount} logical CPUs, .NET {Environment.Version}; {objects} ConfigMaps (~0.5 KB each), {watchers} watchers, {updates} updates.");
report.AppendLine();
report.AppendLine("| measurement | time | ratio to baseline |");
report.AppendLine("| --- | --- | --- |");
report.AppendLine(CultureInfo.InvariantCulture, $"| baseline: System.Text.Json serialize {objects} objects in process | {serialize:F1} ms | 1.0 |");
report.AppendLine(CultureInfo.InvariantCulture, $"| list all {objects} (one response) | {listAll:F1} ms | {listAll / serialize:F1}x serialize |");
report.AppendLine(CultureInfo.InvariantCulture, $"| list all in pages of 500 (limit/continue) | {listPaged:F1} ms | {listPaged / serialize:F1}x serialize |");
report.AppendLine(CultureInfo.InvariantCulture, $"| list with label selector (1/10 match) | {listSelected:F1} ms | {listSelected / serialize:F1}x serialize |");
report.AppendLine(CultureInfo.InvariantCulture, $"| list all as a Table (kubectl get) | {listTable:F1} ms | {listTable / serialize:F1}x serialize |");
report.AppendLine(CultureInfo.InvariantCulture, $"| baseline: HTTPS round trip GET /version | {roundTrip:F2} ms | 1.0 |");
report.AppendLine(CultureInfo.InvariantCulture, $"| watch delivery latency p50 (patch sent -> event read, {watchers} watchers) | {Pct(50):F2} ms | {Pct(50) / roundTrip:F1}x round trip |");
report.AppendLine(CultureInfo.InvariantCulture, $"| watch delivery latency p99 | {Pct(99):F2} ms | {Pct(99) / roundTrip:F1}x round trip |");
report.AppendLine(CultureInfo.InvariantCulture, $"| events delivered / expected | {received} / {updates * watchers} | |");
report.AppendLine(CultureInfo.InvariantCulture, $"| create {objects} objects (16 concurrent clients) | {create.Elapsed.TotalSeconds:F1} s ({objects / create.Elapsed.TotalSeconds:F0}/s) | |");
report.AppendLine();
report.AppendLine("| memory (managed heap after full GC / process working set) | heap | working set |");
report.AppendLine("| --- | --- | --- |");
report.AppendLine(CultureInfo.InvariantCulture, $"| before start | {before.Heap:F0} MiB | {before.WorkingSet:F0} MiB |");
report.AppendLine(CultureInfo.InvariantCulture, $"| {objects} objects stored (+ watch history) | {afterLoad.Heap:F0} MiB | {afterLoad.WorkingSet:F0} MiB |");
report.AppendLine(CultureInfo.InvariantCulture, $"| + {watchers} open watches | {watchMemory.Heap:F0} MiB | {watchMemory.WorkingSet:F0} MiB |");
Console.Write(report);
return received == updates * watchers ? 0 : 1;

double Pct(int p) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * p / 100.0))];

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
}

(double Heap, double WorkingSet) Memory()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    using var self = Process.GetCurrentProcess();
    return (GC.GetTotalMemory(true) / 1048576.0, self.WorkingSet64 / 1048576.0);
}

double Median(int runs, Func<Task> action)
{
    var times = new List<double>();
    for (var i = 0; i < runs; i++)
    {
        var sw = Stopwatch.StartNew();
        action().GetAwaiter().GetResult();
        times.Add(sw.Elapsed.TotalMilliseconds);
    }
    times.Sort();
    return times[times.Count / 2];
}

HttpClient Client()
{
    var c = new HttpClient(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 64,
        SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == server.Certificate.GetCertHashString() },
    })
    {
        BaseAddress = server.BaseAddress,
        Timeout = Timeout.InfiniteTimeSpan,
    };
    c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminToken);
    return c;
}

async Task<string> Send(HttpMethod method, string path, string? body = null, string contentType = "application/json", string? accept = null)
{
    using var req = new HttpRequestMessage(method, path);
    if (body is not null)
    {
        req.Content = new StringContent(body, Encoding.UTF8);
        req.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
    }
    if (accept is not null)
    {
        req.Headers.Accept.ParseAdd(accept);
    }
    using var resp = await http.SendAsync(req);
    var text = await resp.Content.ReadAsStringAsync();
    if (!resp.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{method} {path}: {(int)resp.StatusCode} {text}");
    }
    return text;
}
