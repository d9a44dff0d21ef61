namespace BiT.Trainer.Commands;

/// <summary>Where a command writes: results to <see cref="Out"/>, diagnostics to <see cref="Error"/>.</summary>
/// <param name="Out">Standard output (results only, so that it can be piped).</param>
/// <param name="Error">Standard error (progress, warnings, errors).</param>
public sealed record CommandConsole(TextWriter Out, TextWriter Error)
{
    /// <summary>The process's console.</summary>
    public static CommandConsole System => new(Console.Out, Console.Error);
}
