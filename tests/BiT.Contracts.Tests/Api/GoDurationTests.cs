using BiT.Contracts.Api;

namespace BiT.Contracts.Tests.Api;

public sealed class GoDurationTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("0s", 0L)]
    [InlineData("90s", 90L * 10_000_000)]
    [InlineData("15m", 900L * 10_000_000)]
    [InlineData("1h30m", 5400L * 10_000_000)]
    [InlineData("1.5h", 5400L * 10_000_000)]
    [InlineData("2m10s", 130L * 10_000_000)]
    [InlineData("250ms", 250L * 10_000)]
    [InlineData("10us", 100L)]
    [InlineData("100ns", 1L)]
    [InlineData("24h", 86_400L * 10_000_000)]
    [InlineData("1h1h", 7200L * 10_000_000)]
    public void Go_syntax_parses(string text, long ticks) =>
        Assert.Equal(TimeSpan.FromTicks(ticks), GoDuration.Parse(text).Value);

    [Theory]
    [InlineData("")]
    [InlineData("15")]
    [InlineData("m")]
    [InlineData("15 m")]
    [InlineData("-5m")]
    [InlineData("1d")]
    [InlineData("1..5s")]
    [InlineData("PT15M")]
    [InlineData("99999999999999h")]
    public void Anything_else_is_rejected_with_a_reason(string text)
    {
        Assert.False(GoDuration.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
        Assert.Throws<FormatException>(() => GoDuration.Parse(text));
    }

    [Theory]
    [InlineData("0", "0s")]
    [InlineData("90s", "1m30s")]
    [InlineData("1h30m", "1h30m")]
    [InlineData("24h", "24h")]
    [InlineData("1.5s", "1.5s")]
    [InlineData("250ms", "250ms")]
    [InlineData("1h0m1s", "1h1s")]
    public void Formats_compactly_and_reparses_to_the_same_value(string text, string formatted)
    {
        var d = GoDuration.Parse(text);
        Assert.Equal(formatted, d.ToString());
        Assert.Equal(d, GoDuration.Parse(d.ToString()));
    }
}
