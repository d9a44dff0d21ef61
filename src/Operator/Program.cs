using BiT.Operator.Hosting;
using k8s;
using Microsoft.Extensions.Logging;

try
{
    var parse = CommandLine.Parse(args, Environment.GetEnvironmentVariable);
    if (parse.Errors.Count > 0)
    {
        var command = parse.Result.CommandResult.Command.Name;
        foreach (var error in parse.Errors)
        {
            await Console.Error.WriteLineAsync("bit-operator: " + error);
        }

        await Console.Error.WriteLineAsync(command is "run" or "crds" ? $"Run 'bit-operator {command} --help' for usage." : "Run 'bit-operator --help' for usage.");
        return 2;
    }

    if (parse.CommandLine is not { } commandLine)
    {
        // --help or --version.
        return await parse.Result.InvokeAsync();
    }

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
    using var client = OperatorClient.Create(config, TimeProvider.System);
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
catch (ConfigurationException ex)
{
    await Console.Error.WriteLineAsync("bit-operator: " + ex.Message);
    return 2;
}
