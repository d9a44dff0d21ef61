using BiT.Contracts.Rules;

namespace BiT.Trainer.Commands;

/// <summary>Parses <c>--resolution reference|paper</c>.</summary>
public static class ResolutionOption
{
    /// <summary>The rule named by <paramref name="text"/>; <see cref="ResolutionRule.Reference"/> when null.</summary>
    /// <exception cref="UsageException">Neither 'reference' nor 'paper'.</exception>
    public static ResolutionRule Parse(string? text) => text?.ToUpperInvariant() switch
    {
        null or "REFERENCE" => ResolutionRule.Reference,
        "PAPER" => ResolutionRule.Paper,
        _ => throw new UsageException($"option '--resolution' must be 'reference' (512/480, the default) or 'paper' (448/384); got '{text}'"),
    };
}
