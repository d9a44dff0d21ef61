using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using BiT.Contracts;
using BiT.Contracts.Api;
using KubeEmulator;

namespace BiT.Operator.Tests.EndToEnd;

/// <summary>
/// The hostile-manifest suite (tests/BiT.Contracts.Tests/Hostile/Manifests, run there through the local parser) on
/// the cluster path: each file goes through the real kubectl (`kubectl create -f`, which converts YAML to JSON and
/// asks for strict field validation) into the emulator with the generated CRDs, with one operator running in-process
/// for all of them. Every file must end in one of: refused by kubectl itself (YAML it cannot convert), refused by the
/// API server (schema, CEL, metadata rules), or accepted and then marked <c>Validated=False</c> by the operator with
/// a message, with no pod. The exceptions are the three files the cluster path cannot refuse by design
/// (docs/reliability.md): duplicate keys (kubectl keeps the last) and two documents; those must run.
/// </summary>
public sealed class HostileClusterTests
{
    private static readonly string Folder = Path.Combine(RepoPaths.Root, "tests", "BiT.Contracts.Tests", "Hostile", "Manifests");

    /// <summary>Files the cluster path accepts as valid jobs: kubectl keeps the last of two duplicate keys, and applies both documents.</summary>
    private static readonly HashSet<string> AcceptedByDesign = new(StringComparer.Ordinal)
    {
        "072-duplicate-hyperparameters.yaml",
        "073-duplicate-name.yaml",
        "082-two-documents.yaml",
    };

    /// <summary>
    /// Files kubectl itself refuses before sending anything: YAML it cannot turn into one JSON object, numbers JSON
    /// cannot hold (NaN, inf), and a kind the server has no schema for (kubectl's strict validation asks for it).
    /// </summary>
    private static readonly HashSet<string> RefusedByKubectl = new(StringComparer.Ordinal)
    {
        "065-lr-nan.yaml",
        "066-lr-inf.yaml",
        "079-unknown-kind.yaml",
        "074-yaml-anchor-bomb.yaml",
        "075-yaml-deep-nesting.yaml",
        "076-yaml-tab-indent.yaml",
        "077-empty-document.yaml",
        "078-not-a-mapping.yaml",
    };

    private static readonly Regex PetsName = new(@"^(  name: )pets$", RegexOptions.Multiline | RegexOptions.CultureInvariant);

    private enum Outcome
    {
        RefusedByClient,
        RefusedByServer,
        RefusedByOperator,
        Runs,
    }

    [Fact]
    public async Task Every_hostile_manifest_is_refused_by_kubectl_the_api_server_or_the_operator_and_gets_no_pod()
    {
        var started = Stopwatch.StartNew();
        var files = Directory.GetFiles(Folder, "*.yaml").Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count >= 60, $"{files.Count} manifests");

        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { RunPods = false });
        var dir = Directory.CreateTempSubdirectory("bit-hostile-").FullName;
        try
        {
            var kubeconfig = cluster.Server.WriteKubeconfig(Path.Combine(dir, "kubeconfig"));
            var cache = Path.Combine(dir, "kube-cache");
            await using var op = cluster.StartOperator();

            // Every file under its own job name (all of them say `pets`), so each one is judged on its own.
            var created = new ConcurrentDictionary<string, List<string>>(StringComparer.Ordinal); // file -> the jobs kubectl created
            var refused = new ConcurrentDictionary<string, (Outcome Outcome, string Output)>(StringComparer.Ordinal);
            using var gate = new SemaphoreSlim(4);
            await Task.WhenAll(files.Select(async path =>
            {
                var file = Path.GetFileName(path);
                var name = "h-" + file[..3];
                var copy = Path.Combine(dir, file);
                var n = 0;
                await File.WriteAllTextAsync(copy, PetsName.Replace(await File.ReadAllTextAsync(path), m => m.Groups[1].Value + name + (n++ == 0 ? "" : $"-{n}")));
                await gate.WaitAsync();
                try
                {
                    var (code, output) = await KubectlAsync(kubeconfig, cache, "create", "-n", TestCluster.Namespace, "-f", copy);
                    var names = Regex.Matches(output, @"bitfinetunejob\.bit\.training/(\S+) created", RegexOptions.CultureInvariant).Select(m => m.Groups[1].Value).ToList();
                    if (names.Count > 0)
                    {
                        created[file] = names;
                    }

                    if (code != 0 && !AcceptedByDesign.Contains(file))
                    {
                        // kubectl's own refusals start "error:" (it never sent the object); the server's are "The KIND
                        // \"NAME\" is invalid: ..." (422) or "Error from server (...)".
                        var server = !output.TrimStart().StartsWith("error:", StringComparison.Ordinal);
                        refused[file] = (server ? Outcome.RefusedByServer : Outcome.RefusedByClient, output.Trim());
                    }
                }
                finally
                {
                    gate.Release();
                }
            }));

            var outcomes = new Dictionary<string, (Outcome Outcome, string Detail)>(StringComparer.Ordinal);
            foreach (var (file, r) in refused)
            {
                Assert.False(string.IsNullOrWhiteSpace(r.Output), $"{file}: refused without a message");
                outcomes[file] = r;
            }

            // The operator judges what the API server took.
            var running = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (file, jobs) in created.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                Assert.False(refused.ContainsKey(file), $"{file}: kubectl created {string.Join(", ", jobs)} and failed: {(refused.TryGetValue(file, out var r) ? r.Output : "")}");
                foreach (var job in jobs)
                {
                    var status = await cluster.WaitForJobAsync(JobKind.FineTune, job, s => s.FindCondition(ConditionTypes.Validated) is not null, TimeSpan.FromSeconds(60), $"{file}: the operator's verdict on {job}");
                    var validated = status.FindCondition(ConditionTypes.Validated)!;
                    if (validated.Status == "False")
                    {
                        Assert.False(string.IsNullOrWhiteSpace(validated.Message), $"{file}: Validated=False without a message");
                        await cluster.WaitForJobAsync(JobKind.FineTune, job, s => s.Phase == JobPhase.Failed, TimeSpan.FromSeconds(30), $"{file}: Failed");
                        outcomes[file] = (Outcome.RefusedByOperator, validated.Message!);
                    }
                    else
                    {
                        running.Add(job);
                        outcomes[file] = (Outcome.Runs, string.Join(", ", jobs));
                    }
                }
            }

            // The jobs that run get their pod; then nothing else has one (the refused ones had as long to make theirs).
            await TestCluster.WaitUntilAsync(async () => (await cluster.PodsAsync()).Select(p => p.Metadata.Name).ToHashSet().IsSupersetOf(running.Select(j => j + "-run-1")), TimeSpan.FromSeconds(60), "the accepted jobs' pods");
            var pods = (await cluster.PodsAsync()).Select(p => p.Metadata.Name).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(running.Select(j => j + "-run-1").Order(StringComparer.Ordinal), pods);

            var report = string.Join("\n", outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}: {o.Value.Outcome}: {First(o.Value.Detail)}"));
            Console.WriteLine($"hostile manifests on the cluster path ({started.Elapsed.TotalSeconds:F0} s):\n{report}");
            Console.WriteLine(string.Join(", ", outcomes.GroupBy(o => o.Value.Outcome).Select(g => $"{g.Key} {g.Count()}")));

            Assert.Equal(files.Count, outcomes.Count);
            foreach (var file in files.Select(Path.GetFileName))
            {
                var (outcome, detail) = outcomes[file!];
                if (AcceptedByDesign.Contains(file!))
                {
                    Assert.True(outcome == Outcome.Runs, $"{file}: expected the cluster path to accept it (kubectl keeps the last key / applies each document), got {outcome}: {detail}\n{report}");
                }
                else if (RefusedByKubectl.Contains(file!))
                {
                    Assert.True(outcome == Outcome.RefusedByClient, $"{file}: expected kubectl to refuse it, got {outcome}: {detail}");
                }
                else
                {
                    Assert.True(outcome is Outcome.RefusedByServer or Outcome.RefusedByOperator, $"{file}: expected the API server or the operator to refuse it, got {outcome}: {detail}\n{report}");
                }
            }

            Assert.Equal(0, op.Run.IsCompleted ? await op.Run : 0);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string First(string text)
    {
        var line = text.Split('\n', 2)[0];
        return line.Length > 200 ? line[..200] + "..." : line;
    }

    private static async Task<(int Code, string Output)> KubectlAsync(string kubeconfig, string cache, params string[] args)
    {
        var psi = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--kubeconfig", kubeconfig, "--cache-dir", cache }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await stdout + await stderr);
    }
}
