using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Watch;

namespace KubeEmulator.Storage;

/// <summary>
/// Schemaless storage keyed by group-resource, namespace and name, with one global resourceVersion (etcd's revision).
/// Every method expects the caller to hold <see cref="Sync"/>: a read-modify-write is one critical section, and
/// events reach the watch hub in revision order. Stored objects are never mutated in place: writers store a new node.
/// </summary>
internal sealed class ObjectStore(WatchHub hub)
{
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ObjectRef> _byUid = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<ObjectRef>> _dependents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _perNamespace = new(StringComparer.Ordinal);
    private long _revision = 1;

    public Lock Sync { get; } = new();
    public WatchHub Hub { get; } = hub;

    public long Revision => _revision;

    public static string Key(string? ns, string name) => (ns ?? "") + "/" + name;

    public JsonObject? Get(string groupResource, string? ns, string name) =>
        _data.TryGetValue(groupResource, out var m) && m.TryGetValue(Key(ns, name), out var o) ? o : null;

    /// <summary>Objects in key order (namespace, then name), starting after <paramref name="afterKey"/> when given.</summary>
    public IEnumerable<KeyValuePair<string, JsonObject>> List(string groupResource, string? ns, string? afterKey = null)
    {
        if (!_data.TryGetValue(groupResource, out var m))
        {
            return [];
        }
        IEnumerable<KeyValuePair<string, JsonObject>> items = m;
        if (ns is not null)
        {
            var prefix = ns + "/";
            items = items.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal));
        }
        if (afterKey is not null)
        {
            items = items.Where(kv => string.CompareOrdinal(kv.Key, afterKey) > 0);
        }
        return items;
    }

    public int Count(string groupResource) => _data.TryGetValue(groupResource, out var m) ? m.Count : 0;

    public ObjectRef? FindUid(string uid) => _byUid.GetValueOrDefault(uid);

    /// <summary>Objects whose ownerReferences name this uid (the garbage collector's graph).</summary>
    public IReadOnlyCollection<ObjectRef> DependentsOf(string ownerUid) => _dependents.TryGetValue(ownerUid, out var set) ? set.ToList() : [];

    /// <summary>How many namespaced objects of any type live in the namespace.</summary>
    public int CountInNamespace(string ns) => _perNamespace.GetValueOrDefault(ns);

    private static IEnumerable<string> OwnerUids(JsonObject? obj) =>
        (Json.At(obj, "metadata", "ownerReferences") as JsonArray)?.OfType<JsonObject>().Select(o => Json.Str(o, "uid")).OfType<string>() ?? [];

    private void Index(ObjectRef r, JsonObject? previous, JsonObject? current)
    {
        foreach (var uid in OwnerUids(previous))
        {
            if (_dependents.TryGetValue(uid, out var set) && set.Remove(r) && set.Count == 0)
            {
                _dependents.Remove(uid);
            }
        }
        foreach (var uid in OwnerUids(current))
        {
            if (!_dependents.TryGetValue(uid, out var set))
            {
                set = [];
                _dependents[uid] = set;
            }
            set.Add(r);
        }
        if (r.Namespace is { } ns && (previous is null) != (current is null))
        {
            _perNamespace[ns] = _perNamespace.GetValueOrDefault(ns) + (current is null ? -1 : 1);
        }
    }

    public IEnumerable<(string GroupResource, JsonObject Object)> All() =>
        _data.SelectMany(kv => kv.Value.Values.Select(o => (kv.Key, o)));

    /// <summary>Stores a new or changed object: assigns the next resourceVersion and publishes ADDED or MODIFIED.</summary>
    public JsonObject Put(string groupResource, JsonObject obj)
    {
        var meta = Json.Metadata(obj);
        var ns = Json.Str(meta, "namespace");
        var name = Json.Str(meta, "name")!;
        var rv = ++_revision;
        meta["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        Json.Materialize(obj);
        if (!_data.TryGetValue(groupResource, out var m))
        {
            m = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
            _data[groupResource] = m;
        }
        var key = Key(ns, name);
        m.TryGetValue(key, out var previous);
        m[key] = obj;
        var r = new ObjectRef(groupResource, ns, name);
        if (Json.Str(meta, "uid") is { } uid)
        {
            _byUid[uid] = r;
        }
        Index(r, previous, obj);
        Hub.Publish(new WatchEvent(rv, previous is null ? "ADDED" : "MODIFIED", groupResource, ns, name, obj, previous));
        return obj;
    }

    /// <summary>Removes an object: the DELETED event carries the object with the deletion's resourceVersion.</summary>
    public JsonObject? Remove(string groupResource, string? ns, string name)
    {
        if (!_data.TryGetValue(groupResource, out var m) || !m.Remove(Key(ns, name), out var previous))
        {
            return null;
        }
        var rv = ++_revision;
        var final = Json.Clone(previous);
        Json.Metadata(final)["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        Json.Materialize(final);
        if (Json.Str(previous, "metadata", "uid") is { } uid)
        {
            _byUid.Remove(uid);
        }
        Index(new ObjectRef(groupResource, ns, name), previous, null);
        Hub.Publish(new WatchEvent(rv, "DELETED", groupResource, ns, name, final, previous));
        return final;
    }
}

internal sealed record ObjectRef(string GroupResource, string? Namespace, string Name);
