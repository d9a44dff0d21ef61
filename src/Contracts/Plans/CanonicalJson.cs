using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts.Api;

namespace BiT.Contracts.Plans;

/// <summary>
/// Canonical JSON: object keys sorted by ordinal, no whitespace, nulls left out, numbers in the shortest form
/// that round-trips, strings escaped the same way every time. Two equal values always give the same bytes.
/// </summary>
public static class CanonicalJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = false,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The canonical text of a value serialized with <see cref="BiTJson.Options"/>.</summary>
    public static string Serialize<T>(T value) => Canonicalize(JsonSerializer.SerializeToNode(value, BiTJson.Options));

    /// <summary>The canonical text of a JSON tree.</summary>
    public static string Canonicalize(JsonNode? node)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            Write(writer, node);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Write(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (key, value) in obj.Where(kv => kv.Value is not null).OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(key);
                    Write(writer, value);
                }

                writer.WriteEndObject();
                break;
            case JsonArray array:
                writer.WriteStartArray();
                foreach (var item in array)
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValue value:
                WriteValue(writer, value);
                break;
        }
    }

    private static void WriteValue(Utf8JsonWriter writer, JsonValue value)
    {
        var element = JsonSerializer.SerializeToElement(value);
        switch (element.ValueKind)
        {
            case JsonValueKind.Number when element.TryGetInt64(out var l):
                writer.WriteNumberValue(l);
                break;
            case JsonValueKind.Number:
                // Shortest round-trip form, so 0.1 is always "0.1" whatever produced it.
                writer.WriteNumberValue(element.GetDouble());
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }
}
