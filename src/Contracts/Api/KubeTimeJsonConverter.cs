using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BiT.Contracts.Api;

/// <summary>
/// metav1.Time: RFC 3339 in UTC with whole seconds (<c>2026-11-26T13:45:07Z</c>). The API server keeps only
/// seconds, so writing more would make every status look changed on the next read.
/// </summary>
public sealed class KubeTimeJsonConverter : JsonConverter<DateTimeOffset>
{
    /// <summary>The wire format.</summary>
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss'Z'";

    /// <summary>Truncates to whole seconds in UTC, as the API server stores it.</summary>
    public static DateTimeOffset Normalize(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    /// <summary>The wire form of a time.</summary>
    public static string ToWire(DateTimeOffset value) => Normalize(value).ToString(Format, CultureInfo.InvariantCulture);

    /// <summary>Parses RFC 3339 (any offset, optional fraction).</summary>
    public static bool TryParse(string? text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value)
        && text!.Contains('T', StringComparison.Ordinal);

    /// <inheritdoc />
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return TryParse(text, out var value)
            ? value
            : throw new JsonException($"expected an RFC 3339 time such as 2026-01-02T15:04:05Z, got {text ?? reader.TokenType.ToString()}");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(ToWire(value));
    }
}
