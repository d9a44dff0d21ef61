using System.CommandLine;
using BiT.Contracts.Rules;

namespace BiT.Trainer.Commands;

/// <summary><c>--resolution reference|paper</c>.</summary>
public static class ResolutionOption
{
    /// <summary>The option; <see cref="ResolutionRule.Reference"/> when absent.</summary>
    public static Option<ResolutionRule> Create() => CommandOptions.Parsed("--resolution", Parse);

    /// <summary>The rule named by <paramref name="text"/>; <see cref="ResolutionRule.Reference"/> when null.</summary>
    /// <exception cref="FormatException">Neither 'reference' nor 'paper'.</exception>
    public static ResolutionRule Parse(string? text) => text?.ToUpperInvariant() switch
    {
        null or "REFERENCE" => ResolutionRule.Reference,
        "PAPER" => ResolutionRule.Paper,
        _ => throw new FormatException($"option '--resolution' must be 'reference' (512/480, the default) or 'paper' (448/384); got '{text}'"),
    };
}
