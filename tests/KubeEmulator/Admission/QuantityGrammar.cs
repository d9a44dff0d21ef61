using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeEmulator.Api;

namespace KubeEmulator.Admission;

/// <summary>
/// Kubernetes' resource quantity grammar (k8s.io/apimachinery/pkg/api/resource): an optional sign, a decimal number
/// (<c>1</c>, <c>1.5</c>, <c>1.</c>, <c>.5</c>), then at most one suffix: binary SI (Ki ... Ei), decimal SI
/// (n, u, m, k, M, G, T, P, E) or a decimal exponent (<c>e3</c>, <c>E-2</c>). Nothing else: no spaces, no lowercase
/// <c>gi</c>, no words. A real API server cannot even decode a typed object holding another string (400, "quantities
/// must match the regular expression"); a negative request or limit it refuses with 422.
/// </summary>
internal static partial class QuantityGrammar
{
    /// <summary>The message a real API server gives for a string that is no quantity.</summary>
    public const string ServerPattern = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

    [GeneratedRegex(@"^(?<sign>[+-]?)(?<number>[0-9]+(\.[0-9]*)?|\.[0-9]+)(?<suffix>[eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Grammar();

    /// <summary>The quantity's text: a JSON string as is, a JSON number as written.</summary>
    public static string Text(JsonNode? value) =>
        value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : value?.ToJsonString() ?? "";

    /// <summary>True when <paramref name="text"/> is a quantity.</summary>
    public static bool IsQuantity(string text) => Grammar().IsMatch(text);

    /// <summary>True for a quantity below zero ("-0" and "-0.0" are zero).</summary>
    public static bool IsNegative(string text) =>
        Grammar().Match(text) is { Success: true } m && m.Groups["sign"].Value == "-" && m.Groups["number"].Value.Any(c => c is >= '1' and <= '9');

    /// <summary>True for a quantity of zero.</summary>
    public static bool IsZero(string text) =>
        Grammar().Match(text) is { Success: true } m && !m.Groups["number"].Value.Any(c => c is >= '1' and <= '9');

    /// <summary>Refuses, as a real API server's decoder does (400), a value of a quantity map that is no quantity.</summary>
    public static void RequireQuantities(JsonObject? map, string kind, string field)
    {
        foreach (var (resource, value) in map ?? [])
        {
            var text = Text(value);
            if (!IsQuantity(text))
            {
                throw ApiException.BadRequest($"{kind} in version \"v1\" cannot be handled as a {kind}: quantities must match the regular expression '{ServerPattern}' ({field}[{resource}]: \"{text}\")");
            }
        }
    }
}
