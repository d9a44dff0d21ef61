using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace BiT.Contracts.Api;

/// <summary>
/// Binds a YAML node tree onto the API types by their JSON names, strictly: every unknown field, wrong type,
/// duplicate key and missing required field is recorded with its path and line, and binding goes on so that
/// one run reports them all. Scalars follow the YAML 1.2 core schema as Kubernetes reads manifests: a quoted
/// scalar is always a string, so <c>numClasses: "10"</c> is a type error as it would be in the cluster.
/// </summary>
internal sealed partial class YamlBinder
{
    private readonly List<FieldError> _errors = [];
    private readonly HashSet<string> _failedPaths = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);

    public IReadOnlyList<FieldError> Errors => _errors;

    /// <summary>Paths that failed to bind or were missing; validation errors under them are noise.</summary>
    public IReadOnlySet<string> FailedPaths => _failedPaths;

    /// <summary>The YAML line of the value at a path, for errors found after binding.</summary>
    public int? LineOf(string path)
    {
        for (var p = path; p.Length > 0; p = Parent(p))
        {
            if (_lines.TryGetValue(p, out var line))
            {
                return line;
            }
        }

        return null;
    }

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? "" : path[..cut];
    }

    public object? Bind(YamlNode node, Type type, string path)
    {
        if (node.Start.Line > 0)
        {
            _lines[path] = (int)node.Start.Line;
        }

        var target = ApiFields.Unwrap(type);
        if (IsNull(node))
        {
            return null;
        }

        if (Crds.KubeTypeSchema.Handles(target))
        {
            return BindKube(node, target, path);
        }

        if (ApiFields.ListElement(target) is { } element)
        {
            return BindList(node, element, path);
        }

        if (ApiFields.IsStringMap(target))
        {
            return BindMap(node, path);
        }

        if (target == typeof(string) || target.IsValueType)
        {
            return BindScalar(node, target, path, intOrString: false);
        }

        return BindObject(node, target, path);
    }

    public object? BindObject(YamlNode node, Type type, string path, ISet<string>? skipKeys = null)
    {
        if (node is not YamlMappingNode mapping)
        {
            Fail(path, $"expected an object (key: value pairs), got {Describe(node)}", node);
            return null;
        }

        var instance = Activator.CreateInstance(type)!;
        var fields = ApiFields.Of(type);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                Fail(path, "keys must be plain strings", keyNode);
                continue;
            }

            var fieldPath = Join(path, key);
            if (!seen.Add(key))
            {
                Fail(fieldPath, "duplicate key", keyNode);
                continue;
            }

            if (skipKeys?.Contains(key) == true)
            {
                continue;
            }

            var field = fields.FirstOrDefault(f => f.Name == key);
            if (field is null || !field.Property.CanWrite)
            {
                Fail(fieldPath, UnknownField(key, fields.Select(f => f.Name)), keyNode);
                continue;
            }

            if (IsNull(valueNode))
            {
                // Kubernetes drops nulls: an explicit null is the same as leaving the field out.
                continue;
            }

            var fieldType = ApiFields.Unwrap(field.Type);
            object? value;
            if (field.Field?.IntOrString == true)
            {
                value = BindScalar(valueNode, typeof(string), fieldPath, intOrString: true);
            }
            else
            {
                value = Bind(valueNode, fieldType, fieldPath);
            }

            if (value is not null)
            {
                field.Property.SetValue(instance, value);
            }
        }

        foreach (var f in fields.Where(f => f.Required && !seen.Contains(f.Name) && skipKeys?.Contains(f.Name) != true))
        {
            Fail(Join(path, f.Name), "required", mapping);
        }

        foreach (var f in fields.Where(f => f.Required && seen.Contains(f.Name)))
        {
            var valueNode = mapping.Children.FirstOrDefault(kv => kv.Key is YamlScalarNode { Value: { } k } && k == f.Name).Value;
            if (valueNode is not null && IsNull(valueNode))
            {
                Fail(Join(path, f.Name), "required (got null)", valueNode);
            }
        }

        return instance;
    }

    /// <summary>
    /// A Kubernetes type (spec.podTemplate's affinity, volumes, containers): the node as JSON, read by the client's
    /// own (de)serialization, which knows its quantities and int-or-strings. Unknown fields are errors, as the
    /// API server's pruning would drop them silently.
    /// </summary>
    private object? BindKube(YamlNode node, Type type, string path)
    {
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize(ToJson(node), type, KubeJsonOptions);
        }
        catch (System.Text.Json.JsonException e)
        {
            var inner = string.IsNullOrEmpty(e.Path) ? "" : e.Path.TrimStart('$');
            Fail(path + inner, $"not a valid {type.Name}: {e.Message}", node);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            // The client's quantity parser throws these for a malformed quantity (sizeLimit: 2Gx).
            Fail(path, $"not a valid {type.Name}: {e.Message}", node);
            return null;
        }
    }

    private static readonly System.Text.Json.JsonSerializerOptions KubeJsonOptions = new()
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    private static System.Text.Json.Nodes.JsonNode? ToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new System.Text.Json.Nodes.JsonObject();
                foreach (var (k, v) in mapping.Children)
                {
                    obj[(k as YamlScalarNode)?.Value ?? ""] = ToJson(v);
                }

                return obj;
            case YamlSequenceNode sequence:
                return new System.Text.Json.Nodes.JsonArray([.. sequence.Children.Select(ToJson)]);
            case YamlScalarNode scalar when IsNull(scalar):
                return null;
            case YamlScalarNode scalar:
                var text = scalar.Value ?? "";
                return (IsQuoted(scalar) ? ScalarKind.String : Classify(text)) switch
                {
                    ScalarKind.Bool => System.Text.Json.Nodes.JsonValue.Create(text.Equals("true", StringComparison.OrdinalIgnoreCase)),
                    ScalarKind.Integer when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => System.Text.Json.Nodes.JsonValue.Create(l),
                    ScalarKind.Float when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => System.Text.Json.Nodes.JsonValue.Create(d),
                    _ => System.Text.Json.Nodes.JsonValue.Create(text),
                };
            default:
                throw new InvalidOperationException($"unexpected YAML node {node.NodeType}");
        }
    }

    private object? BindList(YamlNode node, Type element, string path)
    {
        if (node is not YamlSequenceNode sequence)
        {
            Fail(path, $"expected a list, got {Describe(node)}", node);
            return null;
        }

        var list = (System.Collections.IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
        var ok = true;
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var itemPath = $"{path}[{i}]";
            var item = sequence.Children[i];
            if (IsNull(item))
            {
                Fail(itemPath, "must not be null", item);
                ok = false;
                continue;
            }

            var value = Bind(item, element, itemPath);
            if (value is null)
            {
                ok = false;
                continue;
            }

            list.Add(value);
        }

        if (!ok)
        {
            _failedPaths.Add(path);
        }

        return list;
    }

    private Dictionary<string, string>? BindMap(YamlNode node, string path)
    {
        if (node is not YamlMappingNode mapping)
        {
            Fail(path, $"expected a map of strings, got {Describe(node)}", node);
            return null;
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                Fail(path, "keys must be plain strings", keyNode);
                continue;
            }

            var entryPath = $"{path}[{key}]";
            if (map.ContainsKey(key))
            {
                Fail(entryPath, "duplicate key", keyNode);
                continue;
            }

            if (valueNode is not YamlScalarNode scalar || IsNull(valueNode))
            {
                Fail(entryPath, $"expected a string, got {Describe(valueNode)}", valueNode);
                continue;
            }

            // Label and selector values are strings; like kubectl, take an unquoted true or 1 as its text.
            map[key] = scalar.Value ?? "";
        }

        return map;
    }

    private object? BindScalar(YamlNode node, Type type, string path, bool intOrString)
    {
        if (node is not YamlScalarNode scalar)
        {
            Fail(path, $"expected {Expected(type)}, got {Describe(node)}", node);
            return null;
        }

        var text = scalar.Value ?? "";
        var quoted = IsQuoted(scalar);
        var kind = quoted ? ScalarKind.String : Classify(text);

        if (type == typeof(string))
        {
            if (kind == ScalarKind.String || (intOrString && kind is ScalarKind.Integer or ScalarKind.Float))
            {
                return text;
            }

            Fail(path, $"expected a string, got {KindName(kind)} {text} (quote it if it is meant as text)", node);
            return null;
        }

        if (type == typeof(int) || type == typeof(long))
        {
            if (kind == ScalarKind.Integer)
            {
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                    && (type == typeof(long) || l is >= int.MinValue and <= int.MaxValue))
                {
                    return type == typeof(int) ? (object)(int)l : l;
                }

                Fail(path, $"must be at most {(type == typeof(int) ? int.MaxValue : long.MaxValue)}, got {text}", node);
                return null;
            }

            Fail(path, $"expected an integer, got {Shown(kind, text)}", node);
            return null;
        }

        if (type == typeof(double))
        {
            if (kind is ScalarKind.Integer or ScalarKind.Float
                && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
            {
                return d;
            }

            Fail(path, kind == ScalarKind.NonFinite
                ? $"must be a finite number, got {text}"
                : $"expected a number, got {Shown(kind, text)}", node);
            return null;
        }

        if (type == typeof(bool))
        {
            if (kind == ScalarKind.Bool)
            {
                return text.Equals("true", StringComparison.OrdinalIgnoreCase);
            }

            Fail(path, $"expected true or false, got {Shown(kind, text)}", node);
            return null;
        }

        if (type.IsEnum)
        {
            var names = Enum.GetNames(type);
            if (kind == ScalarKind.String && names.Contains(text, StringComparer.Ordinal))
            {
                return Enum.Parse(type, text);
            }

            var near = names.FirstOrDefault(n => n.Equals(text, StringComparison.OrdinalIgnoreCase))
                ?? names.Where(n => Distance(n, text) <= 2).OrderBy(n => Distance(n, text)).FirstOrDefault();
            Fail(path, $"must be one of {string.Join(", ", names)}, got {Shown(kind, text)}{(near is null ? "" : $" (did you mean {near}?)")}", node);
            return null;
        }

        if (type == typeof(GoDuration))
        {
            if (GoDuration.TryParse(text, out var duration, out var error))
            {
                return duration;
            }

            Fail(path, error, node);
            return null;
        }

        if (type == typeof(DateTimeOffset))
        {
            if (KubeTimeJsonConverter.TryParse(text, out var time))
            {
                return time;
            }

            Fail(path, $"expected an RFC 3339 time such as 2026-01-02T15:04:05Z, got '{text}'", node);
            return null;
        }

        Fail(path, $"cannot read a value of type {type.Name}", node);
        return null;
    }

    private void Fail(string path, string message, YamlNode node)
    {
        _failedPaths.Add(path);
        var line = node.Start.Line > 0 ? (int?)node.Start.Line : null;
        _errors.Add(new FieldError(path, message, line));
    }

    internal static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static string UnknownField(string key, IEnumerable<string> allowed)
    {
        var names = allowed.ToList();
        var near = names.FirstOrDefault(n => n.Equals(key, StringComparison.OrdinalIgnoreCase))
            ?? names.Where(n => Distance(n, key) <= 2).OrderBy(n => Distance(n, key)).FirstOrDefault();
        return near is not null
            ? $"unknown field (did you mean {near}?)"
            : $"unknown field (allowed: {string.Join(", ", names)})";
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            }
        }

        return d[a.Length, b.Length];
    }

    internal static bool IsNull(YamlNode node) =>
        node is YamlScalarNode s && !IsQuoted(s) && s.Value is null or "" or "~" or "null" or "Null" or "NULL";

    private static bool IsQuoted(YamlScalarNode s) =>
        s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded
        || (!s.Tag.IsEmpty && !s.Tag.IsNonSpecific && s.Tag.Value == "tag:yaml.org,2002:str");

    private static ScalarKind Classify(string text)
    {
        if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return ScalarKind.Bool;
        }

        if (IntegerRegex().IsMatch(text))
        {
            return ScalarKind.Integer;
        }

        if (FloatRegex().IsMatch(text))
        {
            return ScalarKind.Float;
        }

        if (NonFiniteRegex().IsMatch(text))
        {
            return ScalarKind.NonFinite;
        }

        return ScalarKind.String;
    }

    private static string KindName(ScalarKind kind) => kind switch
    {
        ScalarKind.Bool => "the boolean",
        ScalarKind.Integer => "the number",
        ScalarKind.Float => "the number",
        ScalarKind.NonFinite => "the number",
        _ => "the string",
    };

    private static string Shown(ScalarKind kind, string text) =>
        kind == ScalarKind.String ? $"'{text}'" : $"{KindName(kind)} {text}";

    private static string Expected(Type type) =>
        type == typeof(string) ? "a string"
        : type == typeof(int) || type == typeof(long) ? "an integer"
        : type == typeof(double) ? "a number"
        : type == typeof(bool) ? "true or false"
        : type.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(type))}"
        : type == typeof(GoDuration) ? "a duration such as 15m"
        : "a single value";

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "an object",
        YamlSequenceNode => "a list",
        YamlScalarNode s when IsNull(s) => "null",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "an unsupported YAML node",
    };

    [GeneratedRegex("^[-+]?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerRegex();

    [GeneratedRegex("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex FloatRegex();

    [GeneratedRegex("^([-+]?\\.(inf|Inf|INF)|\\.nan|\\.NaN|\\.NAN)$", RegexOptions.CultureInvariant)]
    private static partial Regex NonFiniteRegex();

    private enum ScalarKind
    {
        String,
        Bool,
        Integer,
        Float,
        NonFinite,
    }
}
