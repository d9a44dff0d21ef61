using BiT.Operator.Hosting;

namespace BiT.Operator.Tests.Hosting;

public sealed class CommandLineTests
{
    private static string? NoEnv(string _) => null;

    private static CommandLine Parse(IReadOnlyList<string> args, Func<string, string?> env)
    {
        var parse = CommandLine.Parse(args, env);
        Assert.Empty(parse.Errors);
        return parse.CommandLine!;
    }

    [Fact]
    public void Run_takes_the_scheduling_and_weights_policies()
    {
        var cl = Parse(
            ["run", "--allowed-priority-class", "batch-*", "--allowed-priority-class=training", "--allowed-toleration-key", "nvidia.com/*",
             "--weights-allow-http=true", "--weights-allow-private-networks", "false", "--weights-private-host", "mirror.internal", "--weights-private-host=10.0.0.7", "--weights-max-bytes", "1073741824"], NoEnv);
        var c = cl.Settings.Controller;
        Assert.Equal(["batch-*", "training"], c.Scheduling.AllowedPriorityClasses);
        Assert.Equal(["nvidia.com/*"], c.Scheduling.AllowedTolerationKeys);
        Assert.True(c.Scheduling.IsPriorityClassAllowed("batch-low"));
        Assert.False(c.Scheduling.IsPriorityClassAllowed("system-node-critical"));
        Assert.Equal((true, false, 1L << 30), (c.Weights.AllowHttp, c.Weights.AllowPrivateNetworks, c.Weights.MaxBytes));
        Assert.Equal(["mirror.internal", "10.0.0.7"], c.Weights.PrivateHosts);

        var defaults = Parse(["run"], NoEnv).Settings.Controller;
        Assert.Equal((false, false, 8L << 30), (defaults.Weights.AllowHttp, defaults.Weights.AllowPrivateNetworks, defaults.Weights.MaxBytes));
        Assert.False(defaults.Scheduling.IsPriorityClassAllowed("system-cluster-critical"));
        Assert.True(defaults.Scheduling.IsPriorityClassAllowed("training"));
    }

    [Theory]
    [InlineData("--weights-allow-http=yes", "--weights-allow-http")]
    [InlineData("--weights-max-bytes=-1", "--weights-max-bytes must be a positive number")]
    [InlineData("--weights-max-bytes=0", "--weights-max-bytes must be a positive number")]
    public void A_bad_policy_flag_is_an_error_naming_it(string flag, string message)
    {
        var parse = CommandLine.Parse(["run", .. flag.Split('=', 2)], NoEnv);
        Assert.Contains(parse.Errors, e => e.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Run_takes_the_documented_flags()
    {
        var cl = Parse(
            ["run", "--kubeconfig", "/tmp/kc", "--trainer-image", "t:1", "--metrics-port=9090", "--namespace", "a", "--namespace", "b",
             "--allowed-image", "registry/bit/*", "--leader-elect", "false", "--parallelism", "8"], NoEnv);
        Assert.Equal("run", cl.Command);
        Assert.Equal("/tmp/kc", cl.KubeConfig);
        Assert.Equal("t:1", cl.Settings.Controller.TrainerImage);
        Assert.Equal(9090, cl.Settings.MetricsPort);
        Assert.Equal(["a", "b"], cl.Settings.Namespaces);
        Assert.True(cl.Settings.Controller.IsImageAllowed("registry/bit/trainer:2"));
        Assert.False(cl.Settings.Controller.IsImageAllowed("elsewhere/trainer:2"));
        Assert.Null(cl.Settings.LeaderElection);
        Assert.Equal(8, cl.Settings.Parallelism);
    }

    [Fact]
    public void The_environment_supplies_defaults()
    {
        var env = new Dictionary<string, string> { ["BIT_TRAINER_IMAGE"] = "img:3", ["WATCH_NAMESPACES"] = "x, y", ["POD_NAMESPACE"] = "ops", ["POD_NAME"] = "op-0" };
        var cl = Parse(["run"], k => env.GetValueOrDefault(k));
        Assert.Equal("img:3", cl.Settings.Controller.TrainerImage);
        Assert.Equal(["x", "y"], cl.Settings.Namespaces);
        Assert.Equal("ops", cl.Settings.LeaderElection!.Namespace);
        Assert.Equal("op-0", cl.Settings.Identity);
    }

    [Theory]
    [InlineData(new string[0], "command")]
    [InlineData(new[] { "fly" }, "fly")]
    [InlineData(new[] { "run", "--metrics-port", "http" }, "--metrics-port")]
    [InlineData(new[] { "run", "--kubeconfig" }, "--kubeconfig")]
    [InlineData(new[] { "run", "--frobnicate" }, "--frobnicate")]
    [InlineData(new[] { "run", "--resync-period", "often" }, "--resync-period")]
    [InlineData(new[] { "crds" }, "--output")]
    public void A_bad_command_line_is_a_usage_error_naming_the_flag(string[] args, string named)
    {
        var parse = CommandLine.Parse(args, NoEnv);
        Assert.Null(parse.CommandLine);
        Assert.Contains(parse.Errors, e => e.Contains(named, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("--version")]
    [InlineData("run", "--help")]
    [InlineData("crds", "--help")]
    public void Help_and_version_are_answered_without_a_command_line_or_errors(params string[] args)
    {
        var parse = CommandLine.Parse(args, NoEnv);
        Assert.Null(parse.CommandLine);
        Assert.Empty(parse.Errors);
        using var output = new StringWriter();
        Assert.Equal(0, parse.Result.Invoke(new System.CommandLine.InvocationConfiguration { Output = output }));
        Assert.NotEmpty(output.ToString().Trim());
    }
}
