using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeEmulator.Api;

namespace KubeEmulator.Admission;

/// <summary>
/// A conservative copy of the apiextensions server's write-time CEL cost check, for the case that breaks CRDs in
/// practice: a comprehension (<c>all</c>, <c>exists</c>, <c>exists_one</c>, <c>map</c>, <c>filter</c>) over a list or
/// map whose elements are strings read with <c>matches</c>, <c>contains</c>, <c>startsWith</c> or <c>endsWith</c>. As the
/// real estimator (apiserver <c>SchemaDeclType</c>, cel-go <c>checker/cost.go</c>): a string counts 4 x its maxLength,
/// without one as long as a whole request (3 MiB); a list maxItems, a map maxProperties, without them as many
/// elements as fit in a request; a map's keys count 0 (their type has no size), its values (<c>self[k]</c>) the
/// additionalProperties' size; <c>s.matches(re)</c> costs (size(s) + 1) x 0.1 x length(re) x 0.25 per element, the
/// substring functions size x 0.1. Above 10^7 the CRD is refused with the real message. Parents' cardinality only
/// counts where bounded, so this never refuses a CRD a real server takes; it refuses the ones that matter here.
/// </summary>
internal static partial class CelCostEstimate
{
    public const double PerRuleLimit = 10_000_000;
    private const double MaxRequestBytes = 3 * 1024 * 1024;

    [GeneratedRegex(@"\bself\.(all|exists|exists_one|map|filter)\(\s*(?<var>[A-Za-z_][A-Za-z0-9_]*)\s*,", RegexOptions.CultureInvariant)]
    private static partial Regex Comprehension();

    [GeneratedRegex(@"\.(?<fn>matches|contains|startsWith|endsWith)\(\s*(?<arg>'(?:[^'\\]|\\.)*'|""(?:[^""\\]|\\.)*"")?", RegexOptions.CultureInvariant)]
    private static partial Regex StringCall();

    /// <summary>Adds a Forbidden error for each rule of the schema estimated above the per-rule limit.</summary>
    public static void Check(JsonObject schema, string path, List<FieldError> errors) => Walk(schema, path, 1, errors);

    private static void Walk(JsonObject node, string path, double cardinality, List<FieldError> errors)
    {
        if (node["x-kubernetes-validations"] is JsonArray rules)
        {
            var j = 0;
            foreach (var rule in rules.OfType<JsonObject>())
            {
                var text = Json.Str(rule, "rule") ?? "";
                var cost = Estimate(node, text) * cardinality;
                if (cost > PerRuleLimit)
                {
                    errors.Add(FieldError.Forbidden($"{path}.x-kubernetes-validations[{j}].rule",
                        string.Create(CultureInfo.InvariantCulture, $"estimated rule cost exceeds budget by factor of {cost / PerRuleLimit:0.###}x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)")));
                }
                j++;
            }
        }
        foreach (var (name, child) in (node["properties"] as JsonObject) ?? [])
        {
            if (child is JsonObject c)
            {
                Walk(c, $"{path}.properties[{name}]", cardinality, errors);
            }
        }
        if (node["items"] is JsonObject items)
        {
            Walk(items, path + ".items", cardinality * (Num(node, "maxItems") ?? 1), errors);
        }
        if (node["additionalProperties"] is JsonObject values)
        {
            Walk(values, path + ".additionalProperties", cardinality * (Num(node, "maxProperties") ?? 1), errors);
        }
    }

    private static double Estimate(JsonObject node, string rule)
    {
        if (Comprehension().Match(rule) is not { Success: true } comprehension)
        {
            return 1;
        }
        var isMap = node["additionalProperties"] is JsonObject;
        var element = isMap ? (JsonObject)node["additionalProperties"]! : node["items"] as JsonObject;
        if (element is null)
        {
            return 1;
        }
        var elementSize = Json.Str(element, "type") == "string" || element["x-kubernetes-int-or-string"] is not null
            ? Num(element, "maxLength") is { } max ? max * 4 : MaxRequestBytes - 2
            : 0;
        var count = isMap
            ? Num(node, "maxProperties") ?? (MaxRequestBytes - 2) / (elementSize == 0 ? 8 : 9)
            : Num(node, "maxItems") ?? (MaxRequestBytes - 2) / (elementSize == 0 ? 3 : 4);
        var variable = comprehension.Groups["var"].Value;
        double perElement = 1;
        foreach (Match call in StringCall().Matches(rule))
        {
            // The receiver: the loop variable (a list's element; a map's key, of size 0) or self[var] (a map's value).
            var before = rule[..call.Index];
            double size = before.EndsWith($"self[{variable}]", StringComparison.Ordinal) ? (isMap ? elementSize : 0)
                : Regex.IsMatch(before, $@"\b{Regex.Escape(variable)}$") ? (isMap ? 0 : elementSize)
                : 0;
            var argLength = call.Groups["arg"].Success ? call.Groups["arg"].Value.Length - 2 : MaxRequestBytes;
            perElement += call.Groups["fn"].Value == "matches"
                ? (size + 1) * 0.1 * (argLength * 0.25)
                : size * 0.1 * Math.Max(1, argLength * 0.1);
        }
        return count * perElement;
    }

    private static double? Num(JsonObject node, string name) => node[name] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
}
