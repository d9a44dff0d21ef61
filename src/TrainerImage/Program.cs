using BiT.Trainer.Commands;

namespace BiT.Trainer;

/// <summary>The <c>bit-trainer</c> entry point: a dispatcher over the commands in Commands/.</summary>
public static class Program
{
    /// <summary>Every bit-trainer command, one line each.</summary>
    public static CommandRegistry Commands() => new()
    {
        new PredictCommand(),
        new HyperRuleCommand(),
        new RunCommand(), new TrainCommand(),
        new CleanCommand(),
    };

    /// <summary>Runs the command named by the first argument; Ctrl+C cancels it.</summary>
    public static async Task<int> Main(string[] args)
    {
        // Before anything loads libtorch: libgomp reads its settings once, at load (Model/Native/OpenMpDefaults.cs).
        BiT.Model.Native.OpenMpDefaults.Apply();
        // Also before libtorch loads: oneMKL's kernels by the CPU's features on non-Intel CPUs (Model/Native/MklDispatch.cs).
        if (TryApplyMklDispatch() is { } dispatchExit)
        {
            return dispatchExit;
        }
        // The child process that tries oneDNN on this CPU before a run trusts it (Model/Native/KernelProbe.cs).
        if (BiT.Model.Native.KernelProbe.RunIfRequested() is { } probeExit)
        {
            return probeExit;
        }
        // A failure on a thread no command awaits would otherwise end the process with 134 and a stack trace, which
        // the operator reads as a retryable crash: classify it like any other failure.
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            var exception = e.ExceptionObject as Exception ?? new InvalidOperationException(e.ExceptionObject?.ToString());
            var (code, reason) = FailureClassifier.Classify(exception);
            if (Environment.GetEnvironmentVariable("BIT_DEBUG") is "1" or "true")
            {
                Console.Error.WriteLine(exception);
            }
            Console.Error.WriteLine($"bit-trainer: error: {reason}");
            Console.Error.Flush();
            Environment.Exit(code);
        };
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        return await Commands().RunAsync(args, CommandConsole.System, cancellation.Token).ConfigureAwait(false);
    }

    // A bad BIT_MKL_DISPATCH is a permanent error naming the variable, as a bad BIT_ONEDNN is.
    private static int? TryApplyMklDispatch()
    {
        try
        {
            BiT.Model.Native.MklDispatch.Apply();
            return null;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"bit-trainer: error: {e.Message}");
            return BiT.Contracts.Plans.TrainerExitCodes.PermanentFailure;
        }
    }
}
