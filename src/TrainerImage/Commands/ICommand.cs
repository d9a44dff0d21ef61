using System.CommandLine;

namespace BiT.Trainer.Commands;

/// <summary>
/// One <c>bit-trainer</c> subcommand. It declares its options on System.CommandLine (<see cref="Define"/>: values
/// parsed and checked there, so that every usage error names its flag); <see cref="CommandRegistry"/> parses, answers
/// <c>--help</c> with <see cref="Help"/>, turns parse errors into exit code 2, and runs the command with the result.
/// </summary>
public interface ICommand
{
    /// <summary>The word after <c>bit-trainer</c>.</summary>
    string Name { get; }

    /// <summary>One line for the command list.</summary>
    string Summary { get; }

    /// <summary>The full <c>--help</c> text: usage line, options, examples.</summary>
    string Help { get; }

    /// <summary>The command's arguments, options and validators.</summary>
    Command Define();

    /// <summary>Runs the command on a command line that parsed without errors; returns the process exit code (docs/api.md, "Trainer exit codes").</summary>
    Task<int> RunAsync(ParseResult parsed, CommandConsole console, CancellationToken cancellationToken);
}
