namespace BiT.Distributed;

/// <summary>
/// How the ranks of one group find each other: each writes its TCP address under <see cref="Prefix"/> in a store
/// and connects to all others from <see cref="Host"/>. The store is a Gloo file store at
/// <see cref="StoreDirectory"/> (a directory every rank sees) when that is set, else a TCP store that rank 0 serves
/// on <see cref="MasterPort"/> and every rank reaches at <see cref="MasterAddress"/> (torchrun's MASTER_ADDR and
/// MASTER_PORT). A prefix used once per attempt keeps a stale address of an earlier attempt from being read.
/// </summary>
public sealed record RendezvousOptions
{
    public string? StoreDirectory { get; init; }

    public string MasterAddress { get; init; } = "127.0.0.1";

    public int MasterPort { get; init; }

    public required string Prefix { get; init; }

    /// <summary>The address this rank listens on for its peers (127.0.0.1 for ranks on one machine).</summary>
    public string Host { get; init; } = "127.0.0.1";

    public required int Rank { get; init; }

    public required int WorldSize { get; init; }

    /// <summary>Bounds the rendezvous and every collective: a peer that does not take part within it ends the group.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);
}
