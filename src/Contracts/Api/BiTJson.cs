using System.Text.Json;
using System.Text.Json.Serialization;

namespace BiT.Contracts.Api;

/// <summary>
/// JSON as the API server speaks it: camelCase (the one naming convention of the API and plan types: their property
/// names, converted by this policy, are their JSON names, and the schema and the YAML reader name fields the same
/// way), enums as strings, nulls left out (so a status write never sends a null the schema would refuse), unknown
/// fields ignored on read (the server sends managedFields and friends).
/// </summary>
public static class BiTJson
{
    /// <summary>The options every JSON read and write of the API types should use.</summary>
    public static JsonSerializerOptions Options { get; } = Create(indented: false);

    /// <summary>Same, indented (plan.json, docs).</summary>
    public static JsonSerializerOptions IndentedOptions { get; } = Create(indented: true);

    /// <summary>Serializes a job or any API type.</summary>
    public static string Serialize<T>(T value, bool indented = false) =>
        JsonSerializer.Serialize(value, indented ? IndentedOptions : Options);

    /// <summary>Reads a job of either kind from JSON, choosing the type by its <c>kind</c>.</summary>
    /// <exception cref="ManifestException">Not JSON, no or an unknown kind, or a value of the wrong type.</exception>
    public static BiTJob DeserializeJob(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var kind = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("kind", out var k)
                && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
            return kind switch
            {
                ApiInfo.FineTuneKind => doc.RootElement.Deserialize<BiTFineTuneJob>(Options)!,
                ApiInfo.PretrainKind => doc.RootElement.Deserialize<BiTPretrainJob>(Options)!,
                _ => throw new ManifestException([new FieldError("kind", $"must be {ApiInfo.FineTuneKind} or {ApiInfo.PretrainKind}, got '{kind}'")]),
            };
        }
        catch (JsonException e)
        {
            var path = string.IsNullOrEmpty(e.Path) ? "(json)" : e.Path.TrimStart('$', '.');
            throw new ManifestException([new FieldError(path, e.Message)]);
        }
    }

    private static JsonSerializerOptions Create(bool indented)
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            WriteIndented = indented,
            NumberHandling = JsonNumberHandling.Strict,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
