using System.Diagnostics;

namespace BiT.Chart.Tests.Support;

/// <summary>One external tool (helm, kubectl, promtool, lua5.1), found on PATH; missing tools fail the test with the fix.</summary>
internal sealed record Tool(string Name)
{
    public static readonly Tool Helm = new("helm");
    public static readonly Tool Kubectl = new("kubectl");
    public static readonly Tool Promtool = new("promtool");
    public static readonly Tool Lua = new("lua5.1");

    public string Path
    {
        get
        {
            if (System.IO.Path.IsPathRooted(Name) && File.Exists(Name))
            {
                return Name;
            }

            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = System.IO.Path.Combine(dir, Name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException($"{Name} is not installed: run scripts/install-test-deps.sh");
        }
    }

    public async Task<ToolResult> RunAsync(IEnumerable<string> args, string? stdin = null, string? workingDirectory = null, IDictionary<string, string>? env = null, int timeoutSeconds = 120)
    {
        var psi = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Repo.Root,
        };
        var list = args.ToList();
        foreach (var a in list)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Name} {string.Join(' ', list)} did not finish in {timeoutSeconds} s");
        }

        return new ToolResult($"{Name} {string.Join(' ', list)}", p.ExitCode, await stdout, await stderr);
    }

    public Task<ToolResult> RunAsync(params string[] args) => RunAsync((IEnumerable<string>)args);

    /// <summary>Runs and fails the test on a non-zero exit, showing what the tool said.</summary>
    public async Task<string> OkAsync(params string[] args) => (await RunAsync(args)).Ok().Stdout;
}

/// <summary>What a tool run left: exit code and output.</summary>
internal sealed record ToolResult(string Command, int Exit, string Stdout, string Stderr)
{
    public ToolResult Ok()
    {
        Assert.True(Exit == 0, $"{Command} exited {Exit}:\n{Stderr}\n{Stdout}");
        return this;
    }
}
