using System.Text.RegularExpressions;
using BiT.Chart.Tests.Support;

namespace BiT.Chart.Tests.Monitoring;

/// <summary>
/// The alerts with Debian's promtool: the chart's PrometheusRule and monitoring/bit-operator.rules.yaml are the same
/// rules, they pass `promtool check rules`, and `promtool test rules` shows each firing and staying quiet.
/// </summary>
public sealed partial class AlertRuleTests
{
    private static readonly string RulesFile = Path.Combine(Repo.Monitoring, "bit-operator.rules.yaml");

    private static readonly string[] Alerts =
        ["BiTJobStalled", "BiTJobRestartingTooOften", "BiTJobFailed", "BiTJobWaitingTooLong", "BiTOperatorDown", "BiTOperatorNoLeader", "BiTOperatorReconcileErrors"];

    /// <summary>The PrometheusRule's spec as a plain rule file: its `groups:` block, un-indented.</summary>
    internal static async Task<string> RenderRuleFileAsync(params string[] sets)
    {
        var rendered = await HelmChart.TemplateTextAsync("bit-operator", ["prometheusRule.enabled=true", .. sets]);
        var lines = rendered.Split('\n');
        var start = Array.FindIndex(lines, l => l == "kind: PrometheusRule");
        Assert.True(start >= 0, "no PrometheusRule rendered");
        var spec = Array.FindIndex(lines, start, l => l == "spec:");
        var body = lines.Skip(spec + 1).TakeWhile(l => l != "---" && (l.Length == 0 || l.StartsWith("  ", StringComparison.Ordinal))).Select(l => l.Length >= 2 ? l[2..] : l);
        return "# Generated from charts/bit-operator/templates/prometheusrule.yaml with the default values (release bit-operator):\n"
            + "# helm template bit-operator charts/bit-operator --set prometheusRule.enabled=true. Do not edit; BiT.Chart.Tests checks it.\n"
            + string.Join('\n', body).TrimEnd() + "\n";
    }

    [Fact]
    public async Task The_plain_rule_file_is_the_charts_rule_rendered_with_the_defaults()
    {
        var expected = await RenderRuleFileAsync();
        if (Environment.GetEnvironmentVariable("BIT_UPDATE_GENERATED") == "1")
        {
            await File.WriteAllTextAsync(RulesFile, expected);
        }

        Assert.True(expected == await File.ReadAllTextAsync(RulesFile),
            "monitoring/bit-operator.rules.yaml is out of date with the chart: run BIT_UPDATE_GENERATED=1 dotnet test tests/BiT.Chart.Tests --filter AlertRuleTests");
    }

    [Fact]
    public async Task Promtool_checks_the_rules_and_every_alert_has_a_unit_test_and_a_runbook()
    {
        var check = (await Tool.Promtool.RunAsync("check", "rules", RulesFile)).Ok();
        Assert.Contains($"SUCCESS: {Alerts.Length} rules found", check.Stdout, StringComparison.Ordinal);

        var rules = await File.ReadAllTextAsync(RulesFile);
        var tests = await File.ReadAllTextAsync(Path.Combine(Repo.Monitoring, "bit-operator.rules.test.yaml"));
        var runbooks = await File.ReadAllTextAsync(Path.Combine(Repo.Docs, "runbooks.md"));
        Assert.Equal(Alerts, AlertName().Matches(rules).Select(m => m.Groups[1].Value));
        foreach (var alert in Alerts)
        {
            Assert.Contains($"alertname: {alert}", tests, StringComparison.Ordinal);
            Assert.Contains($"runbooks.md#{alert.ToLowerInvariant()}", rules, StringComparison.Ordinal);
            Assert.Contains($"\n## {alert}\n", runbooks, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Promtool_unit_tests_show_each_alert_firing_and_quiet()
    {
        var result = (await Tool.Promtool.RunAsync("test", "rules", Path.Combine(Repo.Monitoring, "bit-operator.rules.test.yaml"))).Ok();
        Assert.Contains("SUCCESS", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_unit_tests_fail_against_rules_that_never_fire()
    {
        // The same tests against rules whose thresholds cannot be reached: promtool must report the missing alerts,
        // or the tests above would pass for any rules.
        var dir = Directory.CreateTempSubdirectory("bit-rules-").FullName;
        try
        {
            var broken = (await RenderRuleFileAsync(
                "prometheusRule.alerts.stalled.secondsWithoutProgress=999999999", "prometheusRule.alerts.restartingTooOften.restarts=1000",
                "prometheusRule.alerts.waitingTooLong.for=1000h", "prometheusRule.alerts.reconcileErrors.ratio=1"))
                .Replace("bit_job_stalled == 1", "bit_job_stalled == 2", StringComparison.Ordinal)
                .Replace("phase=\"Failed\"", "phase=\"Nope\"", StringComparison.Ordinal)
                .Replace("absent(up{", "absent(absent_metric{", StringComparison.Ordinal)
                .Replace(") < 1", ") < 0", StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(dir, "bit-operator.rules.yaml"), broken);
            File.Copy(Path.Combine(Repo.Monitoring, "bit-operator.rules.test.yaml"), Path.Combine(dir, "tests.yaml"));
            var result = await Tool.Promtool.RunAsync("test", "rules", Path.Combine(dir, "tests.yaml"));
            Assert.NotEqual(0, result.Exit);
            foreach (var alert in Alerts)
            {
                Assert.Contains($"alertname: {alert}", result.Stdout + result.Stderr, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@"- alert: (\w+)")]
    private static partial Regex AlertName();
}
