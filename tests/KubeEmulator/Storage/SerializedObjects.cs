using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Storage;

/// <summary>
/// UTF-8 JSON of stored objects, computed once per stored version: stored nodes are never mutated, so lists and
/// watches can write the same bytes to every client instead of cloning and re-serializing.
/// </summary>
internal static class SerializedObjects
{
    private static readonly ConditionalWeakTable<JsonObject, byte[]> Cache = [];

    public static byte[] Of(JsonObject stored) => Cache.GetValue(stored, o =>
    {
        lock (o)
        {
            return Json.ToUtf8(o);
        }
    });
}
