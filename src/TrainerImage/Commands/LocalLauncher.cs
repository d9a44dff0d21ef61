using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using BiT.Contracts.Plans;
using BiT.Contracts.Pods;
using BiT.Model.Native;

namespace BiT.Trainer.Commands;

/// <summary>
/// <c>bit-trainer run MANIFEST --processes N</c>: starts N ranks of this program on this machine, as
/// <c>torchrun --nproc-per-node N</c> does, with the environment torchrun sets (MASTER_ADDR, MASTER_PORT,
/// WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK) plus the rendezvous directory, and waits for them.
/// Rank 0's output passes through; the others' lines carry a <c>[rank R]</c> prefix. When a rank fails the others end
/// through their collectives' errors; any still running after <see cref="Grace"/> are killed. A stop request
/// (SIGTERM, Ctrl+C) is passed on as SIGTERM, so the ranks agree to stop and rank 0 writes a checkpoint.
/// </summary>
public sealed partial class LocalLauncher(TextWriter output, TextWriter error)
{
    /// <summary>How long the other ranks get to end on their own after one has failed.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(
        (int.TryParse(Environment.GetEnvironmentVariable(TrainerEnv.CollectiveTimeoutSeconds), CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 300) + 30);

    /// <summary>Runs <paramref name="processes"/> ranks of <c>bit-trainer</c> with <paramref name="arguments"/>; returns the run's exit code.</summary>
    public async Task<int> RunAsync(int processes, IReadOnlyList<string> arguments, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var (file, prefix) = SelfCommand();
        // In a pod of a larger world (the operator set WORLD_SIZE, NODE_RANK, MASTER_ADDR, MASTER_PORT) these are the
        // pod's local ranks, numbered from NODE_RANK x N and joining rank 0's TCP store; else this machine is the world.
        var pod = PodWorld.FromEnvironment(Environment.GetEnvironmentVariable, processes);
        var rendezvous = pod is null ? Path.Combine(Path.GetTempPath(), "bit-rendezvous", Guid.NewGuid().ToString("N")) : null;
        if (rendezvous is not null)
        {
            Directory.CreateDirectory(rendezvous);
        }
        var port = pod is null ? FreePort() : 0;
        var gpuPerRank = string.Equals(Environment.GetEnvironmentVariable(TrainerEnv.GpuPerRank), "true", StringComparison.OrdinalIgnoreCase);
        var visible = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // Decide the CPU kernels once here (the probe is a child process), not in every rank.
        var oneDnn = Environment.GetEnvironmentVariable(CpuKernels.EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(oneDnn) || oneDnn.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            oneDnn = CpuKernels.Decide(oneDnn, RuntimeInformation.ProcessArchitecture, KernelProbe.ForThisProcess).OneDnn ? "on" : "off";
        }

        var ranks = new List<Process>();
        var pumps = new List<Task>();
        var writeGate = new Lock();
        var reasons = new string?[processes];
        try
        {
            for (var rank = 0; rank < processes; rank++)
            {
                var start = new ProcessStartInfo(file)
                {
                    UseShellExecute = false,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                };
                foreach (var a in prefix.Concat(arguments))
                {
                    start.ArgumentList.Add(a);
                }
                var r = rank.ToString(CultureInfo.InvariantCulture);
                if (pod is { } world)
                {
                    // MASTER_ADDR, MASTER_PORT, WORLD_SIZE, NODE_RANK and the rest pass through from the pod.
                    start.Environment[TrainerEnv.Rank] = (world.NodeRank * processes + rank).ToString(CultureInfo.InvariantCulture);
                }
                else
                {
                    start.Environment[TrainerEnv.MasterAddress] = "127.0.0.1";
                    start.Environment[TrainerEnv.MasterPort] = port.ToString(CultureInfo.InvariantCulture);
                    start.Environment[TrainerEnv.WorldSize] = processes.ToString(CultureInfo.InvariantCulture);
                    start.Environment[TrainerEnv.Rank] = r;
                    start.Environment[TrainerEnv.NodeRank] = "0";
                    start.Environment[TrainerEnv.RendezvousDirectory] = rendezvous;
                    start.Environment[TrainerEnv.RendezvousId] = $"local-{port}";
                }
                start.Environment[TrainerEnv.LocalRank] = r;
                start.Environment[TrainerEnv.LocalWorldSize] = processes.ToString(CultureInfo.InvariantCulture);
                if (gpuPerRank)
                {
                    // Each rank sees one GPU, so its "cuda" is its own: the LOCAL_RANK-th of those the pod was given.
                    start.Environment["CUDA_VISIBLE_DEVICES"] = visible is { Length: > 0 } v ? v[rank % v.Length] : r;
                }
                start.Environment[CpuKernels.EnvironmentVariable] = oneDnn;
                // The cores are shared by the ranks: one intra-op thread pool per core, not one per core per rank.
                if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS")))
                {
                    start.Environment["OMP_NUM_THREADS"] = Math.Max(1, Environment.ProcessorCount / processes).ToString(CultureInfo.InvariantCulture);
                }
                var child = Process.Start(start) ?? throw new InvalidOperationException($"rank {rank} could not be started");
                ranks.Add(child);
                lock (writeGate)
                {
                    output.WriteLine($"started rank {rank} of {processes} (pid {child.Id})");
                }
                var linePrefix = rank == 0 ? "" : $"[rank {rank}] ";
                var index = rank;
                pumps.Add(Pump(child.StandardOutput, output, linePrefix, writeGate, null));
                pumps.Add(Pump(child.StandardError, error, linePrefix, writeGate, reason => reasons[index] = reason));
            }

            using var forward = stop.Register(() =>
            {
                foreach (var child in ranks)
                {
                    Signal(child, 15);
                }
            });
            var exits = ranks.Select(p => p.WaitForExitAsync(CancellationToken.None)).ToList();
            var pending = new HashSet<Task>(exits);
            DateTime? deadline = null;
            while (pending.Count > 0)
            {
                var wait = deadline is { } d ? Task.Delay(Max(d - DateTime.UtcNow, TimeSpan.Zero), CancellationToken.None) : Task.Delay(Timeout.Infinite, CancellationToken.None);
                var done = await Task.WhenAny(pending.Append(wait));
                if (done == wait)
                {
                    foreach (var child in ranks.Where(c => !c.HasExited))
                    {
                        child.Kill(entireProcessTree: true);
                    }
                    deadline = null;
                    continue;
                }
                pending.Remove(done);
                var index = exits.IndexOf((Task)done);
                if (ranks[index].ExitCode != 0 && deadline is null)
                {
                    deadline = DateTime.UtcNow + Grace;
                }
            }
            await Task.WhenAll(pumps);

            var codes = ranks.Select(p => p.ExitCode).ToArray();
            if (codes.All(c => c == 0))
            {
                return TrainerExitCodes.Success;
            }
            var failed = Enumerable.Range(0, processes).Where(i => codes[i] != 0).ToList();
            // The last line names every failed rank and why (its own last error line), as one process's would.
            var summary = string.Join("; ", failed.Select(i => $"rank {i} {Describe(codes[i])}{(reasons[i] is { } why ? $": {why}" : "")}"));
            await error.WriteLineAsync($"bit-trainer: error: {summary}");
            // Rank 0's code is the run's (3 stopped with a checkpoint, 4 permanent, 5 transient), unless it succeeded.
            var code = codes[0] != 0 ? codes[0] : codes[failed[0]];
            return code is TrainerExitCodes.CheckpointedStop or TrainerExitCodes.PermanentFailure or TrainerExitCodes.TransientFailure
                ? code
                : TrainerExitCodes.TransientFailure;
        }
        finally
        {
            foreach (var child in ranks)
            {
                if (!child.HasExited)
                {
                    child.Kill(entireProcessTree: true);
                }
                child.Dispose();
            }
            try
            {
                if (rendezvous is not null)
                {
                    Directory.Delete(rendezvous, recursive: true);
                }
            }
            catch (IOException)
            {
                // Best effort: the directory is under the temp folder.
            }
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>The pod's place in a world of several pods, as the operator (or torchrun's per-node agent) describes it.</summary>
    internal sealed record PodWorld(int WorldSize, int NodeRank)
    {
        /// <summary>Null when WORLD_SIZE is not set (this machine is the world); a bad value is an error naming it.</summary>
        public static PodWorld? FromEnvironment(Func<string, string?> env, int processes)
        {
            if (string.IsNullOrEmpty(env(TrainerEnv.WorldSize)))
            {
                return null;
            }
            var size = Number(env, TrainerEnv.WorldSize, 1);
            var node = string.IsNullOrEmpty(env(TrainerEnv.NodeRank)) ? 0 : Number(env, TrainerEnv.NodeRank, 0);
            if (size % processes != 0 || (node + 1) * processes > size)
            {
                throw new PlanException($"{TrainerEnv.WorldSize}={size} and {TrainerEnv.NodeRank}={node} leave no room for --processes {processes} ranks in this pod (ranks {node * processes}..{(node + 1) * processes - 1})");
            }
            if (string.IsNullOrEmpty(env(TrainerEnv.MasterPort)) && string.IsNullOrEmpty(env(TrainerEnv.RendezvousDirectory)))
            {
                throw new PlanException($"{TrainerEnv.WorldSize} is set but neither {TrainerEnv.MasterPort} nor {TrainerEnv.RendezvousDirectory}: the ranks cannot find rank 0");
            }
            return new PodWorld(size, node);
        }

        private static int Number(Func<string, string?> env, string name, int min) =>
            int.TryParse(env(name), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min
                ? n
                : throw new PlanException($"{name} must be a whole number of at least {min}, got '{env(name)}'");
    }

    private static string Describe(int code) => code switch
    {
        TrainerExitCodes.CheckpointedStop => "stopped after a checkpoint (exit 3)",
        TrainerExitCodes.PermanentFailure => "failed (exit 4)",
        TrainerExitCodes.TransientFailure => "failed, retryable (exit 5)",
        > 128 => $"{KernelProbe.Describe(code)} (exit {code})",
        _ => $"exited with {code}",
    };

    private const string ErrorPrefix = "bit-trainer: error: ";

    private static async Task Pump(StreamReader from, TextWriter to, string prefix, Lock gate, Action<string>? errorLine)
    {
        while (await from.ReadLineAsync() is { } line)
        {
            if (errorLine is not null && line.StartsWith(ErrorPrefix, StringComparison.Ordinal))
            {
                errorLine(line[ErrorPrefix.Length..]);
            }
            lock (gate)
            {
                to.WriteLine(prefix + line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>How to start this program again: its apphost, or <c>dotnet</c> with the entry assembly.</summary>
    private static (string File, string[] Prefix) SelfCommand()
    {
        var path = Environment.ProcessPath ?? throw new InvalidOperationException("this process's executable is unknown");
        if (string.Equals(Path.GetFileNameWithoutExtension(path), "dotnet", StringComparison.Ordinal))
        {
            var entry = Assembly.GetEntryAssembly()?.Location;
            return string.IsNullOrEmpty(entry) ? throw new InvalidOperationException("the entry assembly is unknown") : (path, [entry]);
        }
        return (path, []);
    }

    private static void Signal(Process child, int signal)
    {
        try
        {
            if (!child.HasExited)
            {
                _ = Kill(child.Id, signal);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
