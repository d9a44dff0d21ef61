using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Selectors;

/// <summary>A parsed label selector (the string form: a=b, a!=b, a in (x,y), a notin (x), a, !a, a&gt;1).</summary>
internal sealed class LabelSelector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> _terms = [];

    public static readonly LabelSelector Everything = new();

    public bool IsEmpty => _terms.Count == 0;

    public static LabelSelector Parse(string? text)
    {
        var sel = new LabelSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return sel;
        }
        foreach (var raw in SplitTopLevel(text))
        {
            var term = raw.Trim();
            if (term.Length == 0)
            {
                continue;
            }
            sel._terms.Add(ParseTerm(term));
        }
        return sel;
    }

    public bool Matches(IReadOnlyDictionary<string, string> labels) => _terms.TrueForAll(t => t(labels));

    public bool Matches(JsonObject obj) => IsEmpty || Matches(Labels(obj));

    public static Dictionary<string, string> Labels(JsonObject obj)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Json.At(obj, "metadata", "labels") is JsonObject l)
        {
            foreach (var (k, v) in l)
            {
                d[k] = v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : v?.ToJsonString() ?? "";
            }
        }
        return d;
    }

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return text[start..i];
                    start = i + 1;
                    break;
            }
        }
        yield return text[start..];
    }

    private static Func<IReadOnlyDictionary<string, string>, bool> ParseTerm(string term)
    {
        if (term.StartsWith('!'))
        {
            var key = Key(term[1..]);
            return l => !l.ContainsKey(key);
        }
        foreach (var op in new[] { " notin ", " in " })
        {
            var i = term.IndexOf(op, StringComparison.Ordinal);
            if (i > 0)
            {
                var key = Key(term[..i]);
                var set = term[(i + op.Length)..].Trim();
                if (!set.StartsWith('(') || !set.EndsWith(')'))
                {
                    throw ApiException.BadRequest($"unable to parse requirement: found '{set}', expected: '('");
                }
                var values = set[1..^1].Split(',').Select(v => v.Trim()).Where(v => v.Length > 0).ToHashSet(StringComparer.Ordinal);
                return op == " in " ? l => l.TryGetValue(key, out var v) && values.Contains(v) : l => !l.TryGetValue(key, out var v) || !values.Contains(v);
            }
        }
        foreach (var op in new[] { "!=", "==", "=", ">", "<" })
        {
            var i = term.IndexOf(op, StringComparison.Ordinal);
            if (i > 0)
            {
                var key = Key(term[..i]);
                var value = term[(i + op.Length)..].Trim();
                switch (op)
                {
                    case "!=":
                        return l => !l.TryGetValue(key, out var v) || v != value;
                    case ">":
                    case "<":
                        if (!long.TryParse(value, CultureInfo.InvariantCulture, out var bound))
                        {
                            throw ApiException.BadRequest($"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {value}");
                        }
                        return l => l.TryGetValue(key, out var v) && long.TryParse(v, CultureInfo.InvariantCulture, out var n) && (op == ">" ? n > bound : n < bound);
                    default:
                        return l => l.TryGetValue(key, out var v) && v == value;
                }
            }
        }
        var exists = Key(term);
        return l => l.ContainsKey(exists);
    }

    private static string Key(string s)
    {
        var k = s.Trim();
        if (k.Length == 0 || k.Any(c => char.IsWhiteSpace(c) || c is '(' or ')' or '=' or '!'))
        {
            throw ApiException.BadRequest($"unable to parse requirement: invalid label key \"{k}\"");
        }
        return k;
    }
}
