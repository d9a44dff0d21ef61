using System.Text.Json.Nodes;

namespace KubeEmulator.Watch;

/// <summary>One change to one object. Object (and Previous) are frozen once published: watchers share them.</summary>
internal sealed class WatchEvent(long revision, string type, string groupResource, string? ns, string name, JsonObject obj, JsonObject? previous)
{
    public long Revision { get; } = revision;
    public string Type { get; } = type;
    public string GroupResource { get; } = groupResource;
    public string? Namespace { get; } = ns;
    public string Name { get; } = name;
    public JsonObject Object { get; } = obj;
    public JsonObject? Previous { get; } = previous;

    /// <summary>The object serialized once, shared by every watcher that wants it in its stored apiVersion.</summary>
    public byte[] ObjectUtf8 => Storage.SerializedObjects.Of(Object);
}
