using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using BiT.Contracts.Api;
using BiT.Operator.Controllers;
using BiT.Operator.Runtime;

namespace BiT.Operator.Hosting;

/// <summary>
/// A parsed command line: the command and its settings. <see cref="Parse"/> reads it with System.CommandLine
/// (<c>run</c>, <c>crds</c>, <c>--help</c>, <c>--version</c>); defaults come from the environment.
/// </summary>
public sealed record CommandLine(string Command, OperatorSettings Settings, string? KubeConfig, string? Context, string? Output)
{
    /// <summary>Parses <paramref name="args"/>: a command line, or the errors (each naming its flag), or help/version to print.</summary>
    public static CommandLineParse Parse(IReadOnlyList<string> args, Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(env);
        var o = new Flags();
        var root = o.Define();
        var parsed = root.Parse(args);
        var errors = parsed.Errors.Select(e => e.Message).Distinct(StringComparer.Ordinal).ToList();
        var command = parsed.CommandResult.Command;
        if (parsed.Action is HelpAction || (errors.Count == 0 && command == root && parsed.GetResult(root.Options.OfType<VersionOption>().Single()) is not null))
        {
            return new CommandLineParse(null, [], parsed);
        }

        if (errors.Count == 0 && command == root)
        {
            errors.Add("a command is required: run or crds");
        }

        if (errors.Count == 0 && command.Name == "crds" && parsed.GetValue(o.Output) is null)
        {
            errors.Add("crds needs --output DIR");
        }

        if (errors.Count > 0)
        {
            return new CommandLineParse(null, errors, parsed);
        }

        var namespacesFromFlags = parsed.GetValue(o.Namespaces) ?? [];
        var leaseNamespace = parsed.GetValue(o.LeaseNamespace) ?? env("POD_NAMESPACE");
        var trainerImage = parsed.GetValue(o.TrainerImage) ?? env("BIT_TRAINER_IMAGE");
        var controller = new ControllerOptions
        {
            TrainerImage = string.IsNullOrWhiteSpace(trainerImage) ? new ControllerOptions().TrainerImage : trainerImage,
            AllowedImages = [.. Split(env("BIT_ALLOWED_IMAGES")), .. parsed.GetValue(o.AllowedImages) ?? []],
            TerminationGracePeriodSeconds = parsed.GetValue(o.Grace),
            Scheduling = new SchedulingPolicy
            {
                AllowedPriorityClasses = parsed.GetValue(o.AllowedPriorityClasses) ?? [],
                AllowedTolerationKeys = parsed.GetValue(o.AllowedTolerationKeys) ?? [],
            },
            Weights = new WeightsPolicy
            {
                AllowHttp = parsed.GetValue(o.WeightsAllowHttp),
                AllowPrivateNetworks = parsed.GetValue(o.WeightsAllowPrivateNetworks),
                PrivateHosts = parsed.GetValue(o.WeightsPrivateHosts) ?? [],
                MaxBytes = parsed.GetValue(o.WeightsMaxBytes) ?? new WeightsPolicy().MaxBytes,
            },
        };
        var settings = new OperatorSettings
        {
            Namespaces = namespacesFromFlags.Length > 0 ? namespacesFromFlags : Split(env("WATCH_NAMESPACES")),
            Controller = controller,
            Parallelism = parsed.GetValue(o.Parallelism),
            ResyncPeriod = parsed.GetValue(o.Resync),
            MetricsPort = parsed.GetValue(o.MetricsPort),
            MetricsBindAddress = parsed.GetValue(o.Bind)!,
            Identity = env("POD_NAME") ?? (Environment.MachineName + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture)),
            LeaderElection = parsed.GetValue(o.LeaderElect)
                ? LeaderElectionSettings.Default(leaseNamespace ?? "default") with { LeaseName = parsed.GetValue(o.LeaseName)! }
                : null,
        };
        return new CommandLineParse(
            new CommandLine(command.Name, settings, parsed.GetValue(o.KubeConfig), parsed.GetValue(o.Context), parsed.GetValue(o.Output)),
            [],
            parsed);
    }

    /// <summary>The flags <c>bit-operator</c> takes, by command (for the test that compares them with docs/operator.md).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> FlagNames()
    {
        var root = new Flags().Define();
        return root.Subcommands.ToDictionary(c => c.Name, c => (IReadOnlyList<string>)[.. c.Options.Select(o => o.Name)]);
    }

    private static List<string> Split(string? s) =>
        s is null ? [] : [.. s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>The options of both commands, with their checks.</summary>
    private sealed class Flags
    {
        public Option<string?> KubeConfig { get; } = Text("--kubeconfig", "kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the in-cluster service account)");

        public Option<string?> Context { get; } = Text("--context", "kubeconfig context (default: its current context)");

        public Option<string?> TrainerImage { get; } = Text("--trainer-image", "the image of jobs that name none (default: BIT_TRAINER_IMAGE)");

        public Option<string[]> AllowedImages { get; } = new("--allowed-image")
        {
            Description = "an image, or a prefix ending in '*', that jobs may name; repeatable (also BIT_ALLOWED_IMAGES, comma-separated)",
            Arity = ArgumentArity.OneOrMore,
        };

        public Option<string[]> AllowedPriorityClasses { get; } = Repeatable(
            "--allowed-priority-class",
            "a priority class, or a prefix ending in '*', that jobs may name; repeatable (default: any but system-*)");

        public Option<string[]> AllowedTolerationKeys { get; } = Repeatable(
            "--allowed-toleration-key",
            "a toleration key, or a prefix ending in '*', that jobs may use; repeatable (default: any but node-role.kubernetes.io/* and the empty key)");

        public Option<bool> WeightsAllowHttp { get; } = Boolean("--weights-allow-http", "true|false: trainers may download weights over plain http");

        public Option<bool> WeightsAllowPrivateNetworks { get; } = Boolean(
            "--weights-allow-private-networks", "true|false: trainers may download weights from loopback, link-local and private addresses");

        public Option<string[]> WeightsPrivateHosts { get; } = Repeatable("--weights-private-host", "a weights host allowed at a private address (an internal mirror); repeatable");

        public Option<long?> WeightsMaxBytes { get; } = new("--weights-max-bytes")
        {
            Description = "the largest weights file a trainer downloads, in bytes (default: the trainer's, 8 GiB)",
            Arity = ArgumentArity.ExactlyOne,
            CustomParser = r => long.TryParse(r.Tokens[0].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : Error<long?>(r, $"--weights-max-bytes must be a positive number of bytes (got '{r.Tokens[0].Value}')", null),
        };

        public Option<int?> MetricsPort { get; } = Integer("--metrics-port", 0, 65535, 8080, "port of /metrics, /healthz and /readyz (0: any free port)");

        public Option<string?> Bind { get; } = Text("--metrics-bind-address", "address the metrics port listens on", "0.0.0.0");

        public Option<string[]> Namespaces { get; } = new("--namespace")
        {
            Description = "a namespace to watch; repeatable (default: WATCH_NAMESPACES, comma-separated, else all)",
            Arity = ArgumentArity.OneOrMore,
        };

        public Option<bool> LeaderElect { get; } = new("--leader-elect")
        {
            Description = "true|false: elect a leader among replicas through a Lease",
            Arity = ArgumentArity.ExactlyOne,
            DefaultValueFactory = _ => true,
            CustomParser = r => r.Tokens[0].Value switch
            {
                "true" => true,
                "false" => false,
                var v => Error(r, $"--leader-elect must be true or false (got '{v}')", false),
            },
        };

        public Option<string?> LeaseNamespace { get; } = Text("--leader-election-namespace", "namespace of the Lease (default: POD_NAMESPACE, else default)");

        public Option<string?> LeaseName { get; } = Text("--leader-election-id", "name of the Lease", "bit-operator-leader");

        public Option<int> Parallelism { get; } = NonNull(Integer("--parallelism", 1, 256, 4, "concurrent reconciles"));

        public Option<TimeSpan> Resync { get; } = new("--resync-period")
        {
            Description = "how often every cached job is reconciled again, a duration such as 10m",
            Arity = ArgumentArity.ExactlyOne,
            DefaultValueFactory = _ => TimeSpan.FromMinutes(10),
            CustomParser = r => GoDuration.TryParse(r.Tokens[0].Value, out var period, out _)
                ? period.Value
                : Error(r, $"--resync-period must be a duration such as 10m (got '{r.Tokens[0].Value}')", TimeSpan.Zero),
        };

        public Option<int> Grace { get; } = NonNull(Integer("--termination-grace-period", 1, 86_400, 300, "seconds a trainer gets after SIGTERM to write its checkpoint"));

        public Option<string?> Output { get; } = Text("--output", "directory to write the CRDs into");

        public RootCommand Define()
        {
            var run = new Command("run", "run the operator")
            {
                KubeConfig, Context, TrainerImage, AllowedImages, MetricsPort, Bind, Namespaces, LeaderElect, LeaseNamespace, LeaseName,
                Parallelism, Resync, Grace, AllowedPriorityClasses, AllowedTolerationKeys, WeightsAllowHttp, WeightsAllowPrivateNetworks,
                WeightsPrivateHosts, WeightsMaxBytes,
            };
            var crds = new Command("crds", "write the CustomResourceDefinitions generated from the C# types") { Output };
            var root = new RootCommand("bit-operator: runs BiTFineTuneJob and BiTPretrainJob as trainer pods") { run, crds };

            // Without a command Parse says one is required; an action here keeps the parser from saying so too.
            root.SetAction(_ => 2);
            return root;
        }

        private static Option<string[]> Repeatable(string name, string description) => new(name)
        {
            Description = description,
            Arity = ArgumentArity.OneOrMore,
        };

        private static Option<bool> Boolean(string name, string description) => new(name)
        {
            Description = description,
            Arity = ArgumentArity.ExactlyOne,
            DefaultValueFactory = _ => false,
            CustomParser = r => r.Tokens[0].Value switch
            {
                "true" => true,
                "false" => false,
                var v => Error(r, $"{name} must be true or false (got '{v}')", false),
            },
        };

        private static Option<string?> Text(string name, string description, string? value = null) => new(name)
        {
            Description = description,
            Arity = ArgumentArity.ExactlyOne,
            DefaultValueFactory = value is null ? null : _ => value,
        };

        private static Option<int?> Integer(string name, int min, int max, int value, string description) => new(name)
        {
            Description = description,
            Arity = ArgumentArity.ExactlyOne,
            DefaultValueFactory = _ => value,
            CustomParser = r => int.TryParse(r.Tokens[0].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n
                : Error<int?>(r, $"{name} must be an integer from {min} to {max} (got '{r.Tokens[0].Value}')", null),
        };

        private static Option<int> NonNull(Option<int?> option)
        {
            var parse = option.CustomParser!;
            var value = option.DefaultValueFactory!;
            return new Option<int>(option.Name)
            {
                Description = option.Description,
                Arity = ArgumentArity.ExactlyOne,
                DefaultValueFactory = r => value(r) ?? 0,
                CustomParser = r => parse(r) ?? 0,
            };
        }

        private static T Error<T>(System.CommandLine.Parsing.ArgumentResult result, string message, T value)
        {
            result.AddError(message);
            return value;
        }
    }
}

/// <summary>
/// What <see cref="CommandLine.Parse"/> made of the arguments: a command line to run, or errors (exit code 2), or
/// neither: <c>--help</c> or <c>--version</c>, which <see cref="Result"/> prints when invoked.
/// </summary>
public sealed record CommandLineParse(CommandLine? CommandLine, IReadOnlyList<string> Errors, ParseResult Result);
