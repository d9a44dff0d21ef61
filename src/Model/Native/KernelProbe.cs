using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Model.Native;

/// <summary>
/// Tries oneDNN's convolutions on this CPU in a child process, so that a fault (oneDNN dies by signal, which no
/// handler in this process could survive) costs a child, not the trainer. The child is this same program started
/// again with <see cref="ChildVariable"/> set; a host opts in by calling <see cref="RunIfRequested"/> first thing in
/// its <c>Main</c> and passing <see cref="InChildProcess()"/> to <see cref="CpuKernels.Configure"/>.
/// <para>
/// The child runs training steps (forward, backward) of small networks over the smallest maps a network reaches
/// (down to 1x1), in NCHW and channels-last, with oneDNN on and the parent's thread count: small maps are where
/// oneDNN's blocking heuristics divided by zero. On CPUs with AMX-BF16 it also runs the bf16 channels-last step
/// that <see cref="CpuPrecision"/> chooses there.
/// </para>
/// </summary>
public static class KernelProbe
{
    /// <summary>Set in the child's environment to the thread count it should use.</summary>
    public const string ChildVariable = "BIT_KERNEL_PROBE";

    private const string PassedMarker = "kernel probe: passed";

    private static volatile bool _hostAnswers;

    /// <summary>
    /// The probe for <see cref="CpuKernels.Configure"/> when this program answers it (its <c>Main</c> called
    /// <see cref="RunIfRequested"/>); null in other hosts (a test host started again would not run the probe).
    /// </summary>
    public static Func<KernelProbeResult>? ForThisProcess => _hostAnswers ? KernelProbeCache.Through(KernelProbeCache.ForThisMachine(), InChildProcess) : null;

    /// <summary>
    /// In the child (<see cref="ChildVariable"/> set): runs the probe and returns the exit code for <c>Main</c>.
    /// Elsewhere: null, and nothing happens.
    /// </summary>
    public static int? RunIfRequested()
    {
        if (Environment.GetEnvironmentVariable(ChildVariable) is not { Length: > 0 } threads)
        {
            _hostAnswers = true;
            return null;
        }
        try
        {
            if (int.TryParse(threads, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
            {
                set_num_threads(n);
            }
            if (BackendSwitches.IsAvailable)
            {
                BackendSwitches.OneDnn = true;
            }
            var watch = Stopwatch.StartNew();
            RunSteps();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{PassedMarker} in {watch.Elapsed.TotalSeconds:F1} s, {get_num_threads()} threads"));
            return 0;
        }
        catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or InvalidOperationException or ArgumentException)
        {
            Console.WriteLine($"kernel probe: failed: {e.Message.Split('\n')[0]}");
            return 1;
        }
    }

    /// <summary>Runs the probe in a child process (2 minutes at most) and reports what happened.</summary>
    public static KernelProbeResult InChildProcess() => InChildProcess(TimeSpan.FromMinutes(2));

    /// <summary>Runs the probe in a child process and reports what happened; never throws for the child's failure.</summary>
    public static KernelProbeResult InChildProcess(TimeSpan timeout)
    {
        var (file, arguments) = SelfCommand();
        return file is null
            ? new KernelProbeResult(false, "this process's executable is unknown, so no child could be started", Conclusive: false)
            : InChildProcess(file, arguments, timeout);
    }

    /// <summary>Runs <paramref name="file"/> as the probe's child (with <see cref="ChildVariable"/> set) and reads its end.</summary>
    public static KernelProbeResult InChildProcess(string file, IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(arguments);
        var start = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment[ChildVariable] = get_num_threads().ToString(CultureInfo.InvariantCulture);
        start.Environment[CpuKernels.EnvironmentVariable] = "on";
        var watch = Stopwatch.StartNew();
        try
        {
            using var child = Process.Start(start) ?? throw new InvalidOperationException("no process");
            child.StandardInput.Close();
            var output = child.StandardOutput.ReadToEndAsync();
            var errors = child.StandardError.ReadToEndAsync();
            if (!child.WaitForExit(timeout))
            {
                child.Kill(entireProcessTree: true);
                child.WaitForExit();
                return new KernelProbeResult(false, $"no answer within {timeout.TotalSeconds:F0} s", Conclusive: false);
            }
            child.WaitForExit();
            var stdout = output.Result;
            var seconds = watch.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);
            if (child.ExitCode == 0 && stdout.Contains(PassedMarker, StringComparison.Ordinal))
            {
                return new KernelProbeResult(true, $"{seconds} s with start-up");
            }
            var said = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? errors.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            // SIGKILL comes from outside (the OOM killer, a stop): it says nothing about the kernels.
            return new KernelProbeResult(false, $"the child {Describe(child.ExitCode)} after {seconds} s{(said.Length > 0 ? $": {said.Trim()}" : "")}", Conclusive: child.ExitCode != 128 + 9);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return new KernelProbeResult(false, $"the child could not be started: {e.Message}", Conclusive: false);
        }
    }

    /// <summary>How an exit status reads: a signal's name for 128 + n.</summary>
    public static string Describe(int exitCode) => exitCode switch
    {
        > 128 and < 160 => $"was killed by {SignalName(exitCode - 128)}",
        _ => $"exited with {exitCode}",
    };

    private static string SignalName(int signal) => signal switch
    {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        _ => $"signal {signal}",
    };

    /// <summary>How to start this program again: its apphost, or <c>dotnet</c> with the entry assembly.</summary>
    private static (string? File, string[] Arguments) SelfCommand()
    {
        var path = Environment.ProcessPath;
        if (path is null)
        {
            return (null, []);
        }
        if (string.Equals(Path.GetFileNameWithoutExtension(path), "dotnet", StringComparison.Ordinal))
        {
            var entry = Assembly.GetEntryAssembly()?.Location;
            return string.IsNullOrEmpty(entry) ? (null, []) : (path, [entry]);
        }
        return (path, []);
    }

    /// <summary>
    /// The training steps the child runs on a CPU with these flags: networks, image size, batch, layout, precision.
    /// The README's network reaches 1x1 maps at 32 px; R50x1 has the channel counts of the published models.
    /// Activations turn channels-last after the first 1x1 convolution either way; one NHWC input covers the root.
    /// On a CPU where <see cref="CpuPrecision"/>'s auto chooses bf16 (AMX), that mode runs too: other oneDNN kernels.
    /// </summary>
    public static IReadOnlyList<(string Architecture, int Size, int Batch, bool ChannelsLast, ScalarType Compute)> Steps(IReadOnlySet<string> cpuFlags)
    {
        ArgumentNullException.ThrowIfNull(cpuFlags);
        var steps = new List<(string, int, int, bool, ScalarType)>
        {
            ("R1-1-1-1x0.5", 32, 4, false, ScalarType.Float32), ("R1-1-1-1x0.5", 48, 2, true, ScalarType.Float32),
            ("R50x1", 32, 2, false, ScalarType.Float32),
        };
        if (CpuPrecision.Decide("auto", DeviceType.CPU, cpuFlags, oneDnn: true).Compute == ScalarType.BFloat16)
        {
            steps.Add(("R50x1", 32, 2, true, ScalarType.BFloat16));
        }
        return steps;
    }

    private static void RunSteps()
    {
        foreach (var (architecture, size, batch, channelsLast, compute) in Steps(CpuPrecision.CpuFlags()))
        {
            using var scope = NewDisposeScope();
            random.manual_seed(0);
            using var net = BitResNet.Create(BitArchitecture.Parse(architecture), 10);
            net.ChannelsLast = channelsLast;
            net.ComputeType = compute;
            net.train();
            var loss = nn.functional.cross_entropy(net.forward(randn(batch, 3, size, size)), randint(0, 10, [batch], ScalarType.Int64));
            loss.backward();
            if (!float.IsFinite(loss.item<float>()))
            {
                throw new InvalidOperationException($"{architecture} at {size} px ({compute}): the loss is not finite");
            }
        }
    }
}
