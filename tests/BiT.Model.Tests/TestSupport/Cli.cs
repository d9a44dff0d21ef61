using BiT.Trainer.Commands;

namespace BiT.Model.Tests.TestSupport;

/// <summary>Runs bit-trainer in-process with the same command registry as the executable.</summary>
internal static class Cli
{
    public sealed record Result(int ExitCode, string Out, string Error);

    public static async Task<Result> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = await BiT.Trainer.Program.Commands().RunAsync(args, new CommandConsole(stdout, stderr), CancellationToken.None);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }
}
