using System.Globalization;
using BiT.Trainer.Training;

namespace BiT.Trainer.Telemetry;

/// <summary>
/// Progress on the terminal: a redrawn progress bar when stdout is a terminal, plain log lines (at most one per
/// <c>lineInterval</c>, plus the first and last step) when it is redirected, as in a pod or CI.
/// </summary>
public sealed class ConsoleReporter(TextWriter output, bool interactive, TimeProvider time, TimeSpan lineInterval) : IProgressReporter
{
    private const int BarWidth = 30;
    private DateTimeOffset lastLine = DateTimeOffset.MinValue;
    private bool barShown;

    public static ConsoleReporter ForConsole(TimeProvider time) =>
        new(Console.Out, !Console.IsOutputRedirected, time, TimeSpan.FromSeconds(10));

    public void Started(TrainingSettings settings, int startStep) =>
        WriteLine(startStep > 0
            ? $"training from step {startStep} to {settings.Schedule.TotalSteps}"
            : $"training {settings.Schedule.TotalSteps} steps");

    public void Progress(ProgressUpdate update)
    {
        var eta = update.Eta is { } e ? Format(e) : "?";
        var stats = string.Create(CultureInfo.InvariantCulture, $"loss {update.Loss:0.0000}  lr {update.LearningRate:0.###e0}  {update.ImagesPerSecond:0.0} img/s  ETA {eta}");
        if (interactive)
        {
            var filled = update.TotalSteps > 0 ? update.Step * BarWidth / update.TotalSteps : 0;
            output.Write($"\r[{new string('#', filled)}{new string('.', BarWidth - filled)}] {update.Step}/{update.TotalSteps}  {stats}   ");
            barShown = true;
            if (update.Step >= update.TotalSteps)
            {
                output.WriteLine();
                barShown = false;
            }
            output.Flush();
            return;
        }
        var now = time.GetUtcNow();
        if (update.Step == 1 || update.Step >= update.TotalSteps || now - lastLine >= lineInterval)
        {
            lastLine = now;
            output.WriteLine($"step {update.Step}/{update.TotalSteps}  {stats}");
        }
    }

    public void Evaluated(int step, EvalResult result) =>
        WriteLine(string.Create(CultureInfo.InvariantCulture, $"eval at step {step}: top-1 {result.Top1:P2}, top-5 {result.Top5:P2} ({result.Examples} test images)"));

    public void Checkpointed(int step, string path, DateTimeOffset time)
    {
        if (!interactive)
        {
            WriteLine($"checkpoint {path}");
        }
    }

    public ValueTask DisposeAsync()
    {
        if (barShown)
        {
            output.WriteLine();
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>A log line that does not land on the progress bar's line.</summary>
    public void Log(string line) => WriteLine(line);

    private void WriteLine(string line)
    {
        if (barShown)
        {
            output.WriteLine();
            barShown = false;
        }
        output.WriteLine(line);
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:00}m")
        : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}m{t.Seconds:00}s");
}
