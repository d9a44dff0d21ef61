using System.Threading.Channels;

namespace KubeEmulator.Watch;

/// <summary>A live watcher: events after StartRevision that pass Filter arrive on Events.</summary>
internal sealed class WatchSubscription(long startRevision, Func<WatchEvent, bool> filter) : IDisposable
{
    private readonly Channel<WatchEvent> _channel = Channel.CreateUnbounded<WatchEvent>(new UnboundedChannelOptions { SingleReader = false });

    public long StartRevision { get; } = startRevision;
    public Func<WatchEvent, bool> Filter { get; } = filter;
    public ChannelReader<WatchEvent> Events => _channel.Reader;
    internal WatchHub? Hub { get; set; }

    /// <summary>The group-resource a client watch is on (null: internal controller subscriptions, never dropped by faults).</summary>
    public string? ClientResource { get; set; }

    /// <summary>Why the server closed the stream (a fault, or shutdown); null while open.</summary>
    public string? ClosedReason { get; private set; }

    internal void Offer(WatchEvent e)
    {
        if (e.Revision > StartRevision && Filter(e))
        {
            _channel.Writer.TryWrite(e);
        }
    }

    internal void Close(string reason)
    {
        ClosedReason ??= reason;
        _channel.Writer.TryComplete();
    }

    public void Dispose()
    {
        Hub?.Unsubscribe(this);
        _channel.Writer.TryComplete();
    }
}
