using System.Collections;
using System.CommandLine;
using System.CommandLine.Help;
using System.Text;
using BiT.Contracts.Plans;

namespace BiT.Trainer.Commands;

/// <summary>
/// The <c>bit-trainer</c> subcommands by name, parsed with System.CommandLine. Program.cs registers each command with
/// one line; this class answers <c>--help</c> for every command and <c>--version</c>, and maps usage errors to exit
/// code 2 with what was wrong.
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

    /// <summary>The root command with every registered command's definition.</summary>
    public RootCommand Define()
    {
        var root = new RootCommand("Big Transfer (BiT) trainer") { TreatUnmatchedTokensAsErrors = false };

        // Without a command RunAsync answers "no command given"; an action here keeps the parser from saying so too.
        root.SetAction(_ => TrainerExitCodes.Usage);
        foreach (var command in _commands.Values)
        {
            var definition = command.Define();
            definition.TreatUnmatchedTokensAsErrors = false;
            root.Add(definition);
        }

        return root;
    }

    /// <summary>Parses <paramref name="args"/> and runs the command they name.</summary>
    public async Task<int> RunAsync(IReadOnlyList<string> args, CommandConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        var root = Define();
        var parsed = root.Parse(args);
        var named = parsed.CommandResult.Command;
        _commands.TryGetValue(named.Name, out var command);
        if (parsed.Action is HelpAction)
        {
            await console.Out.WriteLineAsync(command?.Help ?? Overview()).ConfigureAwait(false);
            return TrainerExitCodes.Success;
        }

        // Unmatched words are reported here, in the tool's words, with the parser's own errors after them.
        var errors = parsed.UnmatchedTokens
            .Select(t => t.StartsWith('-') ? $"unknown option '{t}'" : command is null ? $"unknown command '{t}'" : $"unexpected argument '{t}'")
            .Concat(parsed.Errors.Select(e => e.Message))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (errors.Count == 0)
        {
            errors.AddRange(CommandOptions.Missing(parsed));
        }

        if (command is null)
        {
            if (errors.Count == 0 && parsed.GetResult(root.Options.OfType<VersionOption>().Single()) is not null)
            {
                // --version.
                return await parsed.InvokeAsync(new InvocationConfiguration { Output = console.Out, Error = console.Error }, cancellationToken).ConfigureAwait(false);
            }

            var why = errors.Count == 0 ? "no command given" : string.Join($"\n{Tool}: error: ", errors);
            await console.Error.WriteLineAsync($"{Tool}: error: {why}\n\n{Overview()}").ConfigureAwait(false);
            return TrainerExitCodes.Usage;
        }

        if (errors.Count > 0)
        {
            return await UsageErrorAsync(console, command.Name, string.Join($"\n{Tool} {command.Name}: error: ", errors)).ConfigureAwait(false);
        }

        try
        {
            return await command.RunAsync(parsed, console, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// A usage error found while a command runs (a value only checkable then): the same message and exit code 2 as a
    /// parse error.
    /// </summary>
    public static async Task<int> UsageErrorAsync(CommandConsole console, string command, string message)
    {
        ArgumentNullException.ThrowIfNull(console);
        await console.Error.WriteLineAsync($"{Tool} {command}: error: {message}\nRun '{Tool} {command} --help' for usage.").ConfigureAwait(false);
        return TrainerExitCodes.Usage;
    }

    /// <summary>The list of commands, shown by <c>bit-trainer --help</c>.</summary>
    public string Overview()
    {
        var text = new StringBuilder($"usage: {Tool} <command> [options]   ({Tool} <command> --help for each; {Tool} --version)\n\ncommands:\n");
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
