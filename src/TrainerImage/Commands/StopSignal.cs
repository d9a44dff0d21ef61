using System.Runtime.InteropServices;

namespace BiT.Trainer.Commands;

/// <summary>
/// A graceful stop request: SIGTERM (what Kubernetes sends before killing a pod) or the caller's cancellation
/// (Ctrl+C). Training finishes the step in flight, writes a checkpoint and exits 3 inside the grace period.
/// </summary>
internal sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource source;
    private readonly PosixSignalRegistration? sigterm;

    public StopSignal(CancellationToken outer)
    {
        source = CancellationTokenSource.CreateLinkedTokenSource(outer);
        if (!OperatingSystem.IsWindows())
        {
            sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                // Keep the process alive: the engine exits on its own once the checkpoint is on disk.
                context.Cancel = true;
                source.Cancel();
            });
        }
    }

    public CancellationToken Token => source.Token;

    public void Dispose()
    {
        sigterm?.Dispose();
        source.Dispose();
    }
}
