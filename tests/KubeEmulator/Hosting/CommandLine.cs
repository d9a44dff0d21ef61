using System.Globalization;

namespace KubeEmulator.Hosting;

/// <summary>The executable's arguments: --listen, --kubeconfig, --run-pods, --image-map IMAGE=COMMAND, --state-dir, --watch-history.</summary>
internal sealed record CommandLine(string Listen, string? KubeconfigPath, EmulatorOptions Options)
{
    public const string Usage = """
        usage: KubeEmulator [--listen HOST:PORT] [--kubeconfig FILE] [--run-pods] [--image-map IMAGE=COMMAND ...]
                            [--state-dir DIR] [--watch-history N] [--bookmark-interval SECONDS] [--fault JSON ...]
          --listen            address to serve on (default 127.0.0.1:0; port 0 picks a free port, printed at start)
          --kubeconfig        write a kubeconfig with the admin token to FILE
          --run-pods          run pods as local processes (the local kubelet)
          --image-map         map a container image to a local command line (repeatable; also IMAGE=COMMAND pairs after it)
          --state-dir         where pod volumes and PVC host directories live (default: a new temp dir)
          --watch-history     events kept for watches from an old resourceVersion (default 10000)
          --bookmark-interval seconds between BOOKMARK events on idle watches (default 5)
          --fault             a fault from the start, e.g. '{"type":"error","rate":0.1,"code":503,"verb":"update"}'
                              (repeatable; at run time: POST the same JSON to /emulator/faults with the admin token)
        """;

    /// <summary>Parses the arguments; throws ArgumentException with a message naming the bad argument.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var listen = "127.0.0.1:0";
        string? kubeconfig = null;
        var options = new EmulatorOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            string Value()
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new ArgumentException($"{a} needs a value");
                }
                return args[++i];
            }
            switch (a)
            {
                case "--listen":
                    listen = Value();
                    break;
                case "--kubeconfig":
                    kubeconfig = Value();
                    break;
                case "--run-pods":
                    options.RunPods = true;
                    break;
                case "--state-dir":
                    options.StateDir = Value();
                    break;
                case "--watch-history":
                    options.WatchHistory = int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var h) && h > 0 ? h : throw new ArgumentException("--watch-history must be a positive integer");
                    break;
                case "--bookmark-interval":
                    options.BookmarkInterval = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var b) && b > 0 ? TimeSpan.FromSeconds(b) : throw new ArgumentException("--bookmark-interval must be a positive number of seconds");
                    break;
                case "--fault":
                    {
                        var text = Value();
                        try
                        {
                            options.InitialFaults.Add(System.Text.Json.Nodes.JsonNode.Parse(text) as System.Text.Json.Nodes.JsonObject ?? throw new ArgumentException($"--fault expects a JSON object, got {text}"));
                        }
                        catch (System.Text.Json.JsonException e)
                        {
                            throw new ArgumentException($"--fault expects a JSON object: {e.Message}", e);
                        }
                        break;
                    }
                case "--image-map":
                    AddImage(options, Value());
                    while (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    {
                        AddImage(options, args[++i]);
                    }
                    break;
                default:
                    throw new ArgumentException($"unknown argument \"{a}\"");
            }
        }
        return new CommandLine(listen, kubeconfig, options);
    }

    private static void AddImage(EmulatorOptions options, string pair)
    {
        var eq = pair.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || eq == pair.Length - 1)
        {
            throw new ArgumentException($"--image-map expects IMAGE=COMMAND, got \"{pair}\"");
        }
        options.ImageMap[pair[..eq]] = pair[(eq + 1)..];
    }
}
