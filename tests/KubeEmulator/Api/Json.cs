using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeEmulator.Api;

/// <summary>Small helpers over JsonNode: stored objects are schemaless JSON, as in etcd.</summary>
internal static class Json
{
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static JsonObject Metadata(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject m)
        {
            return m;
        }
        var created = new JsonObject();
        obj["metadata"] = created;
        return created;
    }

    public static string? Str(JsonNode? node, params string[] path)
    {
        var n = At(node, path);
        return n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    }

    public static JsonNode? At(JsonNode? node, params string[] path)
    {
        foreach (var p in path)
        {
            if (node is not JsonObject o || !o.TryGetPropertyValue(p, out node))
            {
                return null;
            }
        }
        return node;
    }

    public static long? Long(JsonNode? node, params string[] path)
    {
        var n = At(node, path);
        if (n is JsonValue v)
        {
            if (Double(v) is { } d)
            {
                return (long)d;
            }
            if (v.TryGetValue<string>(out var s) && long.TryParse(s, CultureInfo.InvariantCulture, out var l))
            {
                return l;
            }
        }
        return null;
    }

    /// <summary>A number whatever backs the node (parsed JSON, or an int/long/double created in code).</summary>
    public static double? Double(JsonValue v)
    {
        if (v.TryGetValue<double>(out var d))
        {
            return d;
        }
        if (v.TryGetValue<long>(out var l))
        {
            return l;
        }
        if (v.TryGetValue<int>(out var i))
        {
            return i;
        }
        if (v.TryGetValue<decimal>(out var m))
        {
            return (double)m;
        }
        return null;
    }

    public static JsonObject Obj(JsonObject parent, string name)
    {
        if (parent[name] is JsonObject o)
        {
            return o;
        }
        var created = new JsonObject();
        parent[name] = created;
        return created;
    }

    public static JsonObject Clone(JsonObject o) => (JsonObject)o.DeepClone();

    /// <summary>
    /// Forces every lazily parsed JsonObject/JsonArray in the tree to build its children now, so that later
    /// concurrent readers (lists, watches, RBAC, selectors) only ever read, never initialize.
    /// </summary>
    public static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, v) in o)
                {
                    Materialize(v);
                }
                break;
            case JsonArray a:
                foreach (var v in a)
                {
                    Materialize(v);
                }
                break;
        }
    }

    public static JsonNode? Parse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            return JsonNode.Parse(utf8);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the request body is not valid JSON: {e.Message}");
        }
    }

    public static byte[] ToUtf8(JsonNode node)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, WriterOptions))
        {
            node.WriteTo(w, Options);
        }
        return ms.ToArray();
    }

    public static string ToText(JsonNode node) => Encoding.UTF8.GetString(ToUtf8(node));

    public static bool DeepEquals(JsonNode? a, JsonNode? b) => JsonNode.DeepEquals(a, b);

    public static JsonArray StringArray(IEnumerable<string> items) => new(items.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray());

    public static IEnumerable<string> Strings(JsonNode? arr) =>
        arr is JsonArray a ? a.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null).OfType<string>() : [];

    public static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset? ParseTimestamp(string? s) =>
        s is not null && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
}
