namespace BiT.Trainer.Commands;

/// <summary>
/// One <c>bit-trainer</c> subcommand. <see cref="CommandRegistry"/> answers <c>--help</c> with <see cref="Help"/>
/// and turns a <see cref="UsageException"/> into exit code 2, so a command only parses and runs.
/// </summary>
public interface ICommand
{
    /// <summary>The word after <c>bit-trainer</c>.</summary>
    string Name { get; }

    /// <summary>One line for the command list.</summary>
    string Summary { get; }

    /// <summary>The full <c>--help</c> text: usage line, options, examples.</summary>
    string Help { get; }

    /// <summary>Runs the command; returns the process exit code (see docs/api.md, "Trainer exit codes").</summary>
    /// <exception cref="UsageException">The arguments are wrong (exit code 2).</exception>
    Task<int> RunAsync(IReadOnlyList<string> args, CommandConsole console, CancellationToken cancellationToken);
}
