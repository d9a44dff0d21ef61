using System.Collections.Concurrent;

namespace KubeEmulator;

/// <summary>
/// Every API request the emulator answered, by verb, resource and user: what the operator's "writes per job"
/// benchmark and tests count. Keeps the newest <see cref="Capacity"/> entries and exact totals for all.
/// </summary>
public sealed class RequestLog
{
    private readonly ConcurrentQueue<RequestRecord> _entries = new();
    private readonly ConcurrentDictionary<(string Verb, string Resource, string User), int> _counts = new();

    public int Capacity { get; set; } = 100_000;

    internal void Record(RequestRecord r)
    {
        _entries.Enqueue(r);
        while (_entries.Count > Capacity && _entries.TryDequeue(out _))
        {
        }
        _counts.AddOrUpdate((r.Verb, r.ResourceKey, r.User), 1, (_, n) => n + 1);
    }

    public IReadOnlyList<RequestRecord> Snapshot() => _entries.ToArray();

    /// <summary>Totals per (verb, resource, user); resource is "pods", "pods/status", "bitjobs.example.com", ...</summary>
    public IReadOnlyDictionary<(string Verb, string Resource, string User), int> Counts => new Dictionary<(string, string, string), int>(_counts);

    /// <summary>Requests matching every given filter; resource matches the plural name, with or without group and subresource.</summary>
    public int Count(string? verb = null, string? resource = null, string? user = null) =>
        _counts.Where(kv => (verb is null || kv.Key.Verb == verb) && (resource is null || ResourceMatches(kv.Key.Resource, resource)) && (user is null || kv.Key.User == user)).Sum(kv => kv.Value);

    /// <summary>create, update, patch, delete and deletecollection requests.</summary>
    public int Writes(string? resource = null, string? user = null) =>
        _counts.Where(kv => IsWrite(kv.Key.Verb) && (resource is null || ResourceMatches(kv.Key.Resource, resource)) && (user is null || kv.Key.User == user)).Sum(kv => kv.Value);

    public void Clear()
    {
        _entries.Clear();
        _counts.Clear();
    }

    public static bool IsWrite(string verb) => verb is "create" or "update" or "patch" or "delete" or "deletecollection";

    private static bool ResourceMatches(string key, string wanted)
    {
        if (key == wanted)
        {
            return true;
        }
        // key: resource[.group][/sub]
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var main = slash < 0 ? key : key[..slash];
        var plural = main.Split('.')[0];
        return main == wanted || plural == wanted;
    }
}

/// <summary>One answered request. ResourceKey is resource[.group][/subresource], or the path for non-resource requests.</summary>
public sealed record RequestRecord(string Verb, string Group, string Resource, string? Subresource, string? Namespace, string? Name, string User, int StatusCode, DateTimeOffset Time)
{
    public string ResourceKey => (Group.Length == 0 ? Resource : $"{Resource}.{Group}") + (Subresource is null ? "" : "/" + Subresource);
}
