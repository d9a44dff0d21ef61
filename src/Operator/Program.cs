using BiT.Operator.Hosting;
using k8s;
using Microsoft.Extensions.Logging;

try
{
    var commandLine = CommandLine.Parse(args, Environment.GetEnvironmentVariable);
    if (commandLine.Command == "crds")
    {
        return CrdCommand.Run(commandLine.Output!, Console.Out, Console.Error);
    }

    using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
    {
        o.SingleLine = true;
        o.TimestampFormat = "HH:mm:ss ";
    }).SetMinimumLevel(LogLevel.Information));
    var config = ClientConfig.Load(commandLine.KubeConfig, commandLine.Context);
    using var client = new Kubernetes(config);
    using var shutdown = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        shutdown.Cancel();
    };
    using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
    {
        ctx.Cancel = true;
        shutdown.Cancel();
    });
    var host = new OperatorHost(client, commandLine.Settings, new BiT.Operator.Controllers.ContractsJobPlanner(), TimeProvider.System, loggerFactory);
    return await host.RunAsync(shutdown.Token);
}
catch (UsageException ex)
{
    await Console.Error.WriteLineAsync("bit-operator: " + ex.Message);
    await Console.Error.WriteLineAsync(CommandLine.Usage);
    return 2;
}
catch (ConfigurationException ex)
{
    await Console.Error.WriteLineAsync("bit-operator: " + ex.Message);
    return 2;
}
