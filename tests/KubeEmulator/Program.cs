using System.Runtime.InteropServices;
using KubeEmulator;
using KubeEmulator.Hosting;

CommandLine cli;
try
{
    cli = CommandLine.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"KubeEmulator: {e.Message}");
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}

using var stop = new CancellationTokenSource();
void OnSignal(PosixSignalContext ctx)
{
    ctx.Cancel = true;
    stop.Cancel();
}
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

KubeEmulatorServer server;
try
{
    server = await KubeEmulatorServer.StartAsync(cli.Options, cli.Listen, stop.Token);
}
catch (Exception e) when (e is ArgumentException or IOException)
{
    Console.Error.WriteLine($"KubeEmulator: cannot start on {cli.Listen}: {e.Message}");
    return 1;
}
await using (server)
{
    Console.WriteLine($"listening on {server.BaseAddress}");
    Console.WriteLine($"port {server.BaseAddress.Port}");
    if (cli.KubeconfigPath is not null)
    {
        server.WriteKubeconfig(cli.KubeconfigPath);
        Console.WriteLine($"kubeconfig {Path.GetFullPath(cli.KubeconfigPath)}");
    }
    Console.Out.Flush();
    try
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    catch (OperationCanceledException)
    {
        Console.WriteLine("stopping: terminating pods");
    }
}
return 0;
