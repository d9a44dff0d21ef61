using KubeEmulator.Storage;
using KubeEmulator.Watch;

namespace KubeEmulator.Controllers;

/// <summary>Runs a controller's event handler on every change after start, one event at a time, off the request path.</summary>
internal static class ControllerLoop
{
    public static Task Run(ObjectStore store, Action<WatchEvent> handle, Action<Exception> onError, CancellationToken ct)
    {
        WatchSubscription sub;
        lock (store.Sync)
        {
            sub = store.Hub.Subscribe(store.Revision, store.Revision, _ => true);
        }
        return Task.Run(async () =>
        {
            using (sub)
            {
                try
                {
                    while (await sub.Events.WaitToReadAsync(ct))
                    {
                        while (sub.Events.TryRead(out var e))
                        {
                            try
                            {
                                handle(e);
                            }
                            catch (Exception ex) when (ex is not OperationCanceledException)
                            {
                                onError(ex);
                            }
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // Shutdown.
                }
            }
        }, CancellationToken.None);
    }
}
