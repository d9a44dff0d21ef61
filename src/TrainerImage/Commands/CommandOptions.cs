using System.CommandLine;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace BiT.Trainer.Commands;

/// <summary>
/// The options the <c>bit-trainer</c> commands share in shape, on System.CommandLine: whole numbers with a range,
/// required options, and values parsed by a function; each error names its flag and says what was wrong.
/// </summary>
internal static class CommandOptions
{
    /// <summary>An option with a string value.</summary>
    public static Option<string?> Text(string name) => Parsed<string?>(name, text => text);

    /// <summary>A whole number within [<paramref name="min"/>, <paramref name="max"/>]; null when absent.</summary>
    public static Option<long?> Integer(string name, long min = long.MinValue, long max = long.MaxValue) =>
        Parsed<long?>(name, text =>
        {
            if (!long.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                throw new FormatException($"option '{name}' must be a whole number, got '{text}'");
            }

            if (value < min || value > max)
            {
                var range = max == long.MaxValue ? $"at least {min}" : $"between {min} and {max}";
                throw new FormatException($"option '{name}' must be {range}, got {value}");
            }

            return value;
        });

    /// <summary>An option whose value <paramref name="parse"/> reads; a <see cref="FormatException"/> is the error.</summary>
    public static Option<T> Parsed<T>(string name, Func<string, T> parse) => new(name)
    {
        // A value is required whenever the option is given (the parser says so, naming the option).
        Arity = ArgumentArity.ExactlyOne,
        CustomParser = result =>
        {
            if (result.Tokens.Count == 0)
            {
                return default;
            }

            try
            {
                return parse(result.Tokens[0].Value);
            }
            catch (FormatException e)
            {
                result.AddError(e.Message);
                return default;
            }
        },
    };

    /// <summary>
    /// Checks the option's value when it is given: <paramref name="problem"/> returns the error (naming the flag) or
    /// null. The one way the commands check a single option; checks across options stay command validators.
    /// </summary>
    public static Option<string?> Check(this Option<string?> option, Func<string, string?> problem)
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } value && problem(value) is { } error)
            {
                r.AddError(error);
            }
        });
        return option;
    }

    private static readonly ConditionalWeakTable<Command, Option[]> RequiredOptions = [];

    /// <summary>
    /// The options must be given. Checked by <see cref="Missing"/> once the command line parsed cleanly (a command
    /// validator would hide the parser's own errors, such as a value missing after another option).
    /// </summary>
    public static void Require(Command command, params Option[] options) => RequiredOptions.AddOrUpdate(command, options);

    /// <summary>An error for each required option of the parsed command that was not given.</summary>
    public static IEnumerable<string> Missing(ParseResult parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        if (!RequiredOptions.TryGetValue(parsed.CommandResult.Command, out var options))
        {
            yield break;
        }

        foreach (var option in options)
        {
            if (parsed.GetResult(option) is not { Implicit: false } given || given.Tokens.All(t => string.IsNullOrWhiteSpace(t.Value)))
            {
                yield return $"missing required option '{option.Name}'";
            }
        }
    }
}
