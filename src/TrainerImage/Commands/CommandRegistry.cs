using System.Collections;
using System.Text;
using BiT.Contracts.Plans;

namespace BiT.Trainer.Commands;

/// <summary>
/// The <c>bit-trainer</c> subcommands by name. Program.cs registers each command with one line; this class answers
/// <c>--help</c> for every command, and maps usage errors to exit code 2 with what was wrong.
/// </summary>
public sealed class CommandRegistry : IEnumerable<ICommand>
{
    private const string Tool = "bit-trainer";
    private readonly SortedDictionary<string, ICommand> _commands = new(StringComparer.Ordinal);

    /// <summary>Registers a command.</summary>
    /// <exception cref="ArgumentException">A command of that name is already registered.</exception>
    public void Add(ICommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!_commands.TryAdd(command.Name, command))
        {
            throw new ArgumentException($"command '{command.Name}' is registered twice", nameof(command));
        }
    }

    /// <summary>Runs the command named by <c>args[0]</c> with the rest of the arguments.</summary>
    public async Task<int> RunAsync(IReadOnlyList<string> args, CommandConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        if (args.Count == 0)
        {
            await console.Error.WriteLineAsync($"{Tool}: error: no command given\n\n{Overview()}").ConfigureAwait(false);
            return TrainerExitCodes.Usage;
        }

        if (args[0] is "--help" or "-h" or "help")
        {
            await console.Out.WriteLineAsync(Overview()).ConfigureAwait(false);
            return TrainerExitCodes.Success;
        }

        if (!_commands.TryGetValue(args[0], out var command))
        {
            await console.Error.WriteLineAsync($"{Tool}: error: unknown command '{args[0]}'\n\n{Overview()}").ConfigureAwait(false);
            return TrainerExitCodes.Usage;
        }

        var rest = args.Skip(1).ToList();
        if (rest.Any(a => a is "--help" or "-h"))
        {
            await console.Out.WriteLineAsync(command.Help).ConfigureAwait(false);
            return TrainerExitCodes.Success;
        }

        try
        {
            return await command.RunAsync(rest, console, cancellationToken).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            await console.Error.WriteLineAsync(
                $"{Tool} {command.Name}: error: {e.Message}\nRun '{Tool} {command.Name} --help' for usage.").ConfigureAwait(false);
            return TrainerExitCodes.Usage;
        }
        catch (Exception e)
        {
            // The catch-all: no exception leaves a command as a crash (exit 134 and a stack trace, which the operator
            // would retry); each gets its documented code and one line naming the cause.
            var (code, reason) = FailureClassifier.Classify(e, cancellationToken);
            if (Environment.GetEnvironmentVariable("BIT_DEBUG") is "1" or "true")
            {
                await console.Error.WriteLineAsync(e.ToString()).ConfigureAwait(false);
            }
            await console.Error.WriteLineAsync($"{Tool} {command.Name}: error: {reason}").ConfigureAwait(false);
            return code;
        }
    }

    /// <summary>The list of commands, shown by <c>bit-trainer --help</c>.</summary>
    public string Overview()
    {
        var text = new StringBuilder($"usage: {Tool} <command> [options]   ({Tool} <command> --help for each)\n\ncommands:\n");
        int width = _commands.Keys.Select(k => k.Length).DefaultIfEmpty(0).Max();
        foreach (var command in _commands.Values)
        {
            text.Append("  ").Append(command.Name.PadRight(width + 2)).Append(command.Summary).Append('\n');
        }

        return text.ToString().TrimEnd();
    }

    /// <inheritdoc/>
    public IEnumerator<ICommand> GetEnumerator() => _commands.Values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
