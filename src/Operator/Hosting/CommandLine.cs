using System.Globalization;
using BiT.Operator.Api;
using BiT.Operator.Controllers;
using BiT.Operator.Runtime;

namespace BiT.Operator.Hosting;

/// <summary>A parsed command line: the command and its settings, or a usage error naming the flag.</summary>
public sealed record CommandLine(string Command, OperatorSettings Settings, string? KubeConfig, string? Context, string? Output)
{
    public const string Usage = """
        usage:
          bit-operator run [--kubeconfig FILE] [--context NAME] [--trainer-image IMAGE] [--allowed-image IMAGE|PREFIX*]...
                           [--metrics-port PORT] [--metrics-bind-address ADDR] [--namespace NS]...
                           [--leader-elect true|false] [--leader-election-namespace NS] [--leader-election-id NAME]
                           [--parallelism N] [--resync-period DURATION] [--termination-grace-period SECONDS]
          bit-operator crds --output DIR
        environment: KUBECONFIG, BIT_TRAINER_IMAGE, BIT_ALLOWED_IMAGES (comma-separated), WATCH_NAMESPACES
        (comma-separated), POD_NAMESPACE (lease namespace), POD_NAME (replica identity).
        """;

    public static CommandLine Parse(IReadOnlyList<string> args, Func<string, string?> env)
    {
        if (args.Count == 0)
        {
            throw new UsageException("a command is required: run or crds");
        }

        var command = args[0];
        if (command is not ("run" or "crds"))
        {
            throw new UsageException($"unknown command '{command}': expected run or crds");
        }

        string? kubeconfig = null, context = null, output = null;
        var trainerImage = env("BIT_TRAINER_IMAGE");
        var allowed = Split(env("BIT_ALLOWED_IMAGES"));
        var namespaces = Split(env("WATCH_NAMESPACES"));
        var namespacesFromFlags = new List<string>();
        int? metricsPort = 8080;
        var bind = "0.0.0.0";
        var leaderElect = true;
        var leaseNamespace = env("POD_NAMESPACE");
        var leaseName = "bit-operator-leader";
        var parallelism = 4;
        var resync = TimeSpan.FromMinutes(10);
        var grace = 300;

        for (var i = 1; i < args.Count; i++)
        {
            var arg = args[i];
            string? inline = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new UsageException($"{arg} needs a value");
                }

                return args[++i];
            }

            switch (command, arg)
            {
                case ("run", "--kubeconfig"):
                    kubeconfig = Value();
                    break;
                case ("run", "--context"):
                    context = Value();
                    break;
                case ("run", "--trainer-image"):
                    trainerImage = Value();
                    break;
                case ("run", "--allowed-image"):
                    allowed.Add(Value());
                    break;
                case ("run", "--namespace"):
                    namespacesFromFlags.Add(Value());
                    break;
                case ("run", "--metrics-port"):
                    var p = Int(arg, Value(), 0, 65535);
                    metricsPort = p;
                    break;
                case ("run", "--metrics-bind-address"):
                    bind = Value();
                    break;
                case ("run", "--leader-elect"):
                    leaderElect = Value() switch
                    {
                        "true" => true,
                        "false" => false,
                        var v => throw new UsageException($"--leader-elect must be true or false (got '{v}')"),
                    };
                    break;
                case ("run", "--leader-election-namespace"):
                    leaseNamespace = Value();
                    break;
                case ("run", "--leader-election-id"):
                    leaseName = Value();
                    break;
                case ("run", "--parallelism"):
                    parallelism = Int(arg, Value(), 1, 256);
                    break;
                case ("run", "--resync-period"):
                    var text = Value();
                    if (!BiT.Contracts.Api.GoDuration.TryParse(text, out var period, out _))
                    {
                        throw new UsageException($"--resync-period must be a duration such as 10m (got '{text}')");
                    }

                    resync = period.Value;

                    break;
                case ("run", "--termination-grace-period"):
                    grace = Int(arg, Value(), 1, 86_400);
                    break;
                case ("crds", "--output"):
                    output = Value();
                    break;
                default:
                    throw new UsageException($"unknown option '{arg}' for {command}");
            }
        }

        if (command == "crds" && output is null)
        {
            throw new UsageException("crds needs --output DIR");
        }

        if (namespacesFromFlags.Count > 0)
        {
            namespaces = namespacesFromFlags;
        }

        var controller = new ControllerOptions
        {
            TrainerImage = string.IsNullOrWhiteSpace(trainerImage) ? new ControllerOptions().TrainerImage : trainerImage,
            AllowedImages = allowed,
            TerminationGracePeriodSeconds = grace,
        };
        var settings = new OperatorSettings
        {
            Namespaces = namespaces,
            Controller = controller,
            Parallelism = parallelism,
            ResyncPeriod = resync,
            MetricsPort = metricsPort,
            MetricsBindAddress = bind,
            Identity = env("POD_NAME") ?? (Environment.MachineName + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture)),
            LeaderElection = leaderElect
                ? LeaderElectionSettings.Default(leaseNamespace ?? "default") with { LeaseName = leaseName }
                : null,
        };
        return new CommandLine(command, settings, kubeconfig, context, output);
    }

    private static List<string> Split(string? s) =>
        s is null ? [] : [.. s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static int Int(string flag, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new UsageException($"{flag} must be an integer from {min} to {max} (got '{value}')");
}

/// <summary>A bad command line: the message names the flag; the process exits 2.</summary>
public sealed class UsageException : Exception
{
    public UsageException()
    {
    }

    public UsageException(string message) : base(message)
    {
    }

    public UsageException(string message, Exception inner) : base(message, inner)
    {
    }
}
