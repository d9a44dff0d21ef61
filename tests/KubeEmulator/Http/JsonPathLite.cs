using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Http;

/// <summary>
/// The JSONPath subset printer columns use: .a.b, [n], [*], and [?(@.field=="value")] filters (== and !=).
/// </summary>
internal static class JsonPathLite
{
    public static List<JsonNode?> Evaluate(JsonNode? root, string path)
    {
        var p = path.Trim();
        if (p.StartsWith('{') && p.EndsWith('}'))
        {
            p = p[1..^1];
        }
        if (p.StartsWith('$'))
        {
            p = p[1..];
        }
        var current = new List<JsonNode?> { root };
        var i = 0;
        while (i < p.Length && current.Count > 0)
        {
            if (p[i] == '.')
            {
                i++;
                var start = i;
                while (i < p.Length && p[i] != '.' && p[i] != '[')
                {
                    if (p[i] == '\\' && i + 1 < p.Length)
                    {
                        i++;
                    }
                    i++;
                }
                var field = p[start..i].Replace("\\.", ".", StringComparison.Ordinal);
                if (field.Length == 0)
                {
                    continue;
                }
                current = current.Select(n => n is JsonObject o && o.TryGetPropertyValue(field, out var c) ? c : null).Where(n => n is not null).ToList();
            }
            else if (p[i] == '[')
            {
                var end = FindClose(p, i);
                var inner = p[(i + 1)..end];
                i = end + 1;
                current = Index(current, inner);
            }
            else
            {
                throw new FormatException($"unexpected '{p[i]}' in JSONPath {path}");
            }
        }
        return current;
    }

    private static int FindClose(string p, int open)
    {
        var depth = 0;
        var quote = '\0';
        for (var i = open; i < p.Length; i++)
        {
            var c = p[i];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                continue;
            }
            if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '[')
            {
                depth++;
            }
            else if (c == ']' && --depth == 0)
            {
                return i;
            }
        }
        throw new FormatException($"unclosed '[' in JSONPath {p}");
    }

    private static List<JsonNode?> Index(List<JsonNode?> current, string inner)
    {
        inner = inner.Trim();
        var result = new List<JsonNode?>();
        foreach (var n in current)
        {
            if (inner == "*")
            {
                if (n is JsonArray a)
                {
                    result.AddRange(a);
                }
                else if (n is JsonObject o)
                {
                    result.AddRange(o.Select(kv => kv.Value));
                }
            }
            else if (inner.StartsWith("?(", StringComparison.Ordinal) && inner.EndsWith(')'))
            {
                var cond = inner[2..^1].Trim();
                var neq = cond.Contains("!=", StringComparison.Ordinal);
                var parts = cond.Split(neq ? "!=" : "==", 2);
                if (parts.Length != 2 || n is not JsonArray arr)
                {
                    continue;
                }
                var left = parts[0].Trim();
                var right = parts[1].Trim().Trim('"', '\'');
                foreach (var item in arr)
                {
                    var v = left.StartsWith('@') ? Evaluate(item, left[1..]).FirstOrDefault() : null;
                    var text = v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : v?.ToJsonString();
                    if ((text == right) != neq)
                    {
                        result.Add(item);
                    }
                }
            }
            else if (int.TryParse(inner, CultureInfo.InvariantCulture, out var idx) && n is JsonArray arr2)
            {
                if (idx < 0)
                {
                    idx += arr2.Count;
                }
                if (idx >= 0 && idx < arr2.Count)
                {
                    result.Add(arr2[idx]);
                }
            }
            else if (n is JsonObject o2 && o2.TryGetPropertyValue(inner.Trim('\'', '"'), out var c))
            {
                result.Add(c);
            }
        }
        return result.Where(r => r is not null).ToList();
    }

    public static string Text(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToJsonString() ?? "";

    public static string? Str(JsonNode? n, string path) => Json.Str(n, path.Split('.'));
}
