using BiT.Contracts.Rules;
using BiT.Trainer.Telemetry;
using BiT.Trainer.Training;
using Microsoft.Extensions.Time.Testing;
using Prometheus;

namespace BiT.Trainer.Tests.Telemetry;

public sealed class MetricsAndConsoleTests
{
    private static TrainingSettings Settings => new() { Schedule = new LearningRateSchedule(0.1, 0, [], 500), BatchSize = 8, CropSize = 8, NumClasses = 2, PlanHash = "h" };

    [Fact]
    public async Task Prometheus_endpoint_serves_every_trainer_gauge()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new TrainerMetrics(registry);
        var port = FakeApiServer.FreePort();
        await using var endpoint = new MetricsEndpoint(port, registry, "127.0.0.1");
        metrics.Started(Settings, 0);
        metrics.Progress(new ProgressUpdate(42, 500, 0.5, 0.25, 0.003, 99.5, null, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)));
        metrics.Evaluated(42, new EvalResult(0.75, 0.9, 100));
        metrics.Checkpointed(40, "/c", DateTimeOffset.UnixEpoch);

        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        Assert.Contains("bit_trainer_step 42", text, StringComparison.Ordinal);
        Assert.Contains("bit_trainer_total_steps 500", text, StringComparison.Ordinal);
        Assert.Contains("bit_trainer_loss 0.25", text, StringComparison.Ordinal);
        Assert.Contains("bit_trainer_images_per_second 99.5", text, StringComparison.Ordinal);
        Assert.Contains("bit_trainer_last_progress_timestamp_seconds 1700000000", text, StringComparison.Ordinal);
        Assert.Contains("bit_trainer_eval_top1 0.75", text, StringComparison.Ordinal);
        Assert.Contains("bit_trainer_checkpoint_step 40", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_already_in_use_is_a_warning_and_no_endpoint_not_a_crash()
    {
        var port = FakeApiServer.FreePort();
        await using var first = MetricsEndpoint.TryStart(port, Metrics.NewCustomRegistry(), _ => Assert.Fail("the first endpoint binds"), "127.0.0.1");
        Assert.NotNull(first);
        var warnings = new List<string>();
        await using var second = MetricsEndpoint.TryStart(port, Metrics.NewCustomRegistry(), warnings.Add, "127.0.0.1");
        Assert.Null(second);
        Assert.Contains($"cannot listen on port {port}", Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Console_without_a_terminal_prints_plain_lines_at_most_every_interval()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var output = new StringWriter();
        var reporter = new ConsoleReporter(output, interactive: false, time, TimeSpan.FromSeconds(10));
        for (var step = 1; step <= 500; step++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            reporter.Progress(new ProgressUpdate(step, 500, 0, 0.5, 0.003, 10, TimeSpan.FromSeconds(500 - step), time.GetUtcNow()));
        }
        await reporter.DisposeAsync();
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(lines.Length, 49, 52);
        Assert.StartsWith("step 1/500", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("step 500/500", lines[^1], StringComparison.Ordinal);
        Assert.DoesNotContain('\r', output.ToString());
    }

    [Fact]
    public void Console_on_a_terminal_redraws_a_bar_with_eta()
    {
        var output = new StringWriter();
        var reporter = new ConsoleReporter(output, interactive: true, TimeProvider.System, TimeSpan.FromSeconds(10));
        reporter.Progress(new ProgressUpdate(250, 500, 0, 0.5, 0.003, 10, TimeSpan.FromSeconds(125), DateTimeOffset.UnixEpoch));
        var text = output.ToString();
        Assert.StartsWith("\r[###############...............] 250/500", text, StringComparison.Ordinal);
        Assert.Contains("ETA 2m05s", text, StringComparison.Ordinal);
        Assert.Contains("10.0 img/s", text, StringComparison.Ordinal);
    }
}
