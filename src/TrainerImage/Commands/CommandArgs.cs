using System.Globalization;

namespace BiT.Trainer.Commands;

/// <summary>
/// Parsed <c>--name value</c> / <c>--name=value</c> options and <c>--flag</c>s of one command. Unknown options,
/// repeated options, missing values and stray positional words are usage errors.
/// </summary>
public sealed class CommandArgs
{
    private readonly Dictionary<string, string> _values;
    private readonly HashSet<string> _flags;

    private CommandArgs(Dictionary<string, string> values, HashSet<string> flags)
    {
        _values = values;
        _flags = flags;
    }

    /// <summary>Parses <paramref name="args"/>; <paramref name="options"/> take a value, <paramref name="flags"/> do not.</summary>
    /// <exception cref="UsageException">Anything that is not one of the known options.</exception>
    public static CommandArgs Parse(IReadOnlyList<string> args, IEnumerable<string> options, IEnumerable<string>? flags = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var valueOptions = options.ToHashSet(StringComparer.Ordinal);
        var flagOptions = (flags ?? []).ToHashSet(StringComparer.Ordinal);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var seenFlags = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new UsageException($"unexpected argument '{arg}'");
            }

            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            string name = eq < 0 ? arg[2..] : arg[2..eq];
            if (flagOptions.Contains(name) && eq < 0)
            {
                seenFlags.Add(name);
                continue;
            }

            if (!valueOptions.Contains(name))
            {
                throw new UsageException($"unknown option '--{name}'");
            }

            string value;
            if (eq >= 0)
            {
                value = arg[(eq + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                throw new UsageException($"option '--{name}' needs a value");
            }

            if (!values.TryAdd(name, value))
            {
                throw new UsageException($"option '--{name}' is given more than once");
            }
        }

        return new CommandArgs(values, seenFlags);
    }

    /// <summary>Whether a flag was given.</summary>
    public bool Flag(string name) => _flags.Contains(name);

    /// <summary>An option's value, or null.</summary>
    public string? Optional(string name) => _values.TryGetValue(name, out string? value) ? value : null;

    /// <summary>An option's value.</summary>
    /// <exception cref="UsageException">The option is missing or empty.</exception>
    public string Required(string name)
    {
        string? value = Optional(name);
        return string.IsNullOrWhiteSpace(value) ? throw new UsageException($"missing required option '--{name}'") : value;
    }

    /// <summary>An integer option within [<paramref name="min"/>, <paramref name="max"/>], or null when absent.</summary>
    /// <exception cref="UsageException">Not an integer, or out of range.</exception>
    public long? Integer(string name, long min = long.MinValue, long max = long.MaxValue)
    {
        string? text = Optional(name);
        if (text is null)
        {
            return null;
        }

        if (!long.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
        {
            throw new UsageException($"option '--{name}' must be a whole number, got '{text}'");
        }

        if (value < min || value > max)
        {
            string range = max == long.MaxValue ? $"at least {min}" : $"between {min} and {max}";
            throw new UsageException($"option '--{name}' must be {range}, got {value}");
        }

        return value;
    }
}
