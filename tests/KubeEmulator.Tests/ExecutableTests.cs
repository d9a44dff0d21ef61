using System.Diagnostics;

namespace KubeEmulator.Tests;

/// <summary>The executable: prints its port, writes a kubeconfig kubectl can use, rejects bad arguments, stops on SIGTERM.</summary>
public sealed class ExecutableTests
{
    private static string Dll => Path.Combine(AppContext.BaseDirectory, "KubeEmulator.dll");

    private static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi)!;
    }

    [Fact]
    public async Task Serves_on_a_free_port_with_a_kubeconfig_and_stops_on_sigterm()
    {
        var dir = Directory.CreateTempSubdirectory("exe-test-").FullName;
        var kubeconfig = Path.Combine(dir, "kc");
        using var p = Start("--listen", "127.0.0.1:0", "--kubeconfig", kubeconfig, "--run-pods", "--image-map", "shell:1=/bin/sh", "--state-dir", Path.Combine(dir, "state"));
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? line;
            var port = 0;
            while ((line = await p.StandardOutput.ReadLineAsync(cts.Token)) is not null)
            {
                if (line.StartsWith("port ", StringComparison.Ordinal))
                {
                    port = int.Parse(line[5..], System.Globalization.CultureInfo.InvariantCulture);
                }
                if (line.StartsWith("kubeconfig ", StringComparison.Ordinal))
                {
                    break;
                }
            }
            Assert.True(port > 0);
            Assert.Contains($"https://127.0.0.1:{port}", await File.ReadAllTextAsync(kubeconfig, cts.Token), StringComparison.Ordinal);
            var kubectl = new Kubectl(kubeconfig, Path.Combine(dir, "cache"));
            var (exit, output, err) = await kubectl.RunAsync("get", "nodes", "--no-headers");
            Assert.True(exit == 0, err);
            Assert.StartsWith("emulator-node", output, StringComparison.Ordinal);
            Assert.Contains("Ready", output, StringComparison.Ordinal);
        }
        finally
        {
            KubeEmulator.KubeletRuntime.NativeSignals.Send(p.Id, KubeEmulator.KubeletRuntime.NativeSignals.SigTerm);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await p.WaitForExitAsync(stop.Token);
            Directory.Delete(dir, recursive: true);
        }
        Assert.Equal(0, p.ExitCode);
    }

    [Fact]
    public async Task Bad_fault_exits_1_naming_the_fault()
    {
        using var p = Start("--fault", "{\"type\":\"meteor\"}");
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(1, p.ExitCode);
        Assert.Contains("unknown type \"meteor\"", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_arguments_exit_2_with_a_message()
    {
        using var p = Start("--fault", "{\"type\":\"error\",\"rate\":0.5}", "--image-map", "no-equals-sign");
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(2, p.ExitCode);
        Assert.Contains("--image-map expects IMAGE=COMMAND, got \"no-equals-sign\"", err, StringComparison.Ordinal);
    }
}
