using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BiT.Contracts.Api;

/// <summary>
/// A non-negative duration written in Go/Kubernetes syntax (<c>90s</c>, <c>15m</c>, <c>1h30m</c>, <c>1.5h</c>,
/// <c>250ms</c>, <c>0</c>). Serialized as that string in JSON and YAML.
/// </summary>
[JsonConverter(typeof(GoDurationJsonConverter))]
public readonly record struct GoDuration(TimeSpan Value)
{
    private static readonly (string Unit, long Ticks)[] Units =
    [
        ("ns", 0), ("us", 10), ("µs", 10), ("μs", 10), ("ms", TimeSpan.TicksPerMillisecond),
        ("s", TimeSpan.TicksPerSecond), ("m", TimeSpan.TicksPerMinute), ("h", TimeSpan.TicksPerHour),
    ];

    /// <summary>Parses a Go duration; throws <see cref="FormatException"/> with the reason.</summary>
    public static GoDuration Parse(string text) =>
        TryParse(text, out var d, out var error) ? d : throw new FormatException(error);

    /// <summary>Parses a Go duration without sign.</summary>
    public static bool TryParse(string? text, out GoDuration duration, out string error)
    {
        duration = default;
        error = "";
        if (string.IsNullOrEmpty(text))
        {
            error = "expected a duration such as 90s, 15m or 1h30m, got an empty string";
            return false;
        }

        if (text == "0")
        {
            return true;
        }

        decimal ticks = 0;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }

            var number = text[start..i];
            if (number.Length == 0 || number == "." || number.Count(c => c == '.') > 1
                || !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            {
                error = $"expected a duration such as 90s, 15m or 1h30m, got '{text}'";
                return false;
            }

            var unitStart = i;
            while (i < text.Length && !char.IsAsciiDigit(text[i]) && text[i] != '.')
            {
                i++;
            }

            var unit = text[unitStart..i];
            var match = Array.FindIndex(Units, u => u.Unit == unit);
            if (match < 0)
            {
                error = unit.Length == 0
                    ? $"'{text}' has a number without a unit (ns, us, ms, s, m, h)"
                    : $"'{text}' has an unknown unit '{unit}' (expected ns, us, ms, s, m or h)";
                return false;
            }

            // Compared before multiplying: a long enough number overflows even decimal.
            if (Units[match].Unit != "ns" && value > TimeSpan.MaxValue.Ticks / Units[match].Ticks)
            {
                error = $"'{text}' is too long a duration";
                return false;
            }

            ticks += Units[match].Unit == "ns" ? value / 100 : value * Units[match].Ticks;
            if (ticks > TimeSpan.MaxValue.Ticks)
            {
                error = $"'{text}' is too long a duration";
                return false;
            }
        }

        duration = new GoDuration(TimeSpan.FromTicks((long)decimal.Round(ticks)));
        return true;
    }

    /// <summary>Compact Go syntax: <c>1h30m</c>, <c>2m10s</c>, <c>1.5s</c>, <c>250ms</c>, <c>0s</c>.</summary>
    public override string ToString()
    {
        var t = Value;
        if (t == TimeSpan.Zero)
        {
            return "0s";
        }

        if (t < TimeSpan.FromSeconds(1))
        {
            return ((decimal)t.Ticks / TimeSpan.TicksPerMillisecond).ToString("0.#######", CultureInfo.InvariantCulture) + "ms";
        }

        var sb = new StringBuilder();
        var hours = t.Ticks / TimeSpan.TicksPerHour;
        var minutes = t.Ticks % TimeSpan.TicksPerHour / TimeSpan.TicksPerMinute;
        var secondTicks = t.Ticks % TimeSpan.TicksPerMinute;
        if (hours > 0)
        {
            sb.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }

        if (minutes > 0)
        {
            sb.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }

        if (secondTicks > 0)
        {
            sb.Append(((decimal)secondTicks / TimeSpan.TicksPerSecond).ToString("0.#######", CultureInfo.InvariantCulture)).Append('s');
        }

        return sb.ToString();
    }

    /// <summary>Rounded to whole seconds (negative as zero), for messages that must not change every reconcile.</summary>
    public static GoDuration WholeSeconds(TimeSpan value) =>
        new(value <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Round(value.TotalSeconds)));

    /// <summary>The duration as a TimeSpan.</summary>
    public static implicit operator TimeSpan(GoDuration d) => d.Value;

    /// <summary>Same as the constructor.</summary>
    public static GoDuration FromTimeSpan(TimeSpan value) => new(value);

    /// <summary>Same as <see cref="Value"/>.</summary>
    public TimeSpan ToTimeSpan() => Value;
}

/// <summary>Reads and writes <see cref="GoDuration"/> as its string form.</summary>
public sealed class GoDurationJsonConverter : JsonConverter<GoDuration>
{
    /// <inheritdoc />
    public override GoDuration Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"expected a duration string such as 15m, got {reader.TokenType}");
        }

        return GoDuration.TryParse(reader.GetString(), out var d, out var error) ? d : throw new JsonException(error);
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, GoDuration value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }
}
