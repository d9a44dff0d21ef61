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
        // The child process that tries oneDNN on this CPU before a run trusts it (Model/Native/KernelProbe.cs).
        if (BiT.Model.Native.KernelProbe.RunIfRequested() is { } probeExit)
        {
            return probeExit;
        }
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        return await Commands().RunAsync(args, CommandConsole.System, cancellation.Token).ConfigureAwait(false);
    }
}
