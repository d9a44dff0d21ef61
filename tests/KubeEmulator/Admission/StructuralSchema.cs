using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeEmulator.Api;

namespace KubeEmulator.Admission;

/// <summary>
/// A CRD version's OpenAPI v3 structural schema applied the way the apiextensions server does it: prune unknown
/// fields (unless x-kubernetes-preserve-unknown-fields), apply defaults, then validate with per-field errors.
/// x-kubernetes-validations (CEL) rules are not evaluated (documented gap).
/// </summary>
internal static class StructuralSchema
{
    public static void Prune(JsonNode? node, JsonObject? schema, bool root = false, string path = "", List<string>? pruned = null)
    {
        if (schema is null || node is null)
        {
            return;
        }
        if (node is JsonObject o)
        {
            var preserve = Bool(schema, "x-kubernetes-preserve-unknown-fields");
            var props = schema["properties"] as JsonObject;
            var additional = schema["additionalProperties"] as JsonObject;
            foreach (var (k, v) in o.ToList())
            {
                if (root && k is "apiVersion" or "kind" or "metadata")
                {
                    continue;
                }
                var childPath = path.Length == 0 ? k : path + "." + k;
                if (props is not null && props[k] is JsonObject ps)
                {
                    Prune(v, ps, false, childPath, pruned);
                }
                else if (additional is not null)
                {
                    Prune(v, additional, false, childPath, pruned);
                }
                else if (!preserve && !Bool(schema, "additionalProperties") && !Bool(schema, "x-kubernetes-embedded-resource"))
                {
                    o.Remove(k);
                    pruned?.Add(childPath);
                }
            }
        }
        else if (node is JsonArray a && schema["items"] is JsonObject items)
        {
            for (var i = 0; i < a.Count; i++)
            {
                Prune(a[i], items, false, $"{path}[{i}]", pruned);
            }
        }
    }

    public static void Default(JsonNode? node, JsonObject? schema)
    {
        if (schema is null || node is null)
        {
            return;
        }
        if (node is JsonObject o)
        {
            if (schema["properties"] is JsonObject props)
            {
                foreach (var (k, ps) in props)
                {
                    if (ps is not JsonObject p)
                    {
                        continue;
                    }
                    if (!o.ContainsKey(k) && p.TryGetPropertyValue("default", out var def) && def is not null)
                    {
                        o[k] = def.DeepClone();
                    }
                    if (o[k] is { } child)
                    {
                        Default(child, p);
                    }
                }
            }
            if (schema["additionalProperties"] is JsonObject additional)
            {
                foreach (var (_, v) in o.ToList())
                {
                    Default(v, additional);
                }
            }
        }
        else if (node is JsonArray a && schema["items"] is JsonObject items)
        {
            foreach (var i in a)
            {
                Default(i, items);
            }
        }
    }

    public static List<FieldError> Validate(JsonNode? node, JsonObject? schema, string path, bool root = false)
    {
        var errors = new List<FieldError>();
        if (schema is not null)
        {
            Check(node, schema, path, errors, root);
        }
        return errors;
    }

    private static void Check(JsonNode? node, JsonObject s, string path, List<FieldError> errors, bool root)
    {
        var display = path.Length == 0 ? "<root>" : path;
        if (node is null)
        {
            if (!Bool(s, "nullable") && s["type"] is not null)
            {
                errors.Add(FieldError.TypeInvalid(display, "\"null\"", $"{display} in body must be of type {Str(s, "type")}: \"null\""));
            }
            return;
        }
        var type = Str(s, "type");
        var intOrString = Bool(s, "x-kubernetes-int-or-string");
        var actual = TypeOf(node);
        if (intOrString)
        {
            if (actual is not ("integer" or "string"))
            {
                errors.Add(FieldError.TypeInvalid(display, Show(node), $"{display} in body must be of type integer or string: \"{actual}\""));
                return;
            }
        }
        else if (type is not null && !(type == actual || type == "number" && actual == "integer"))
        {
            errors.Add(FieldError.TypeInvalid(display, Show(node), $"{display} in body must be of type {type}: \"{actual}\""));
            return;
        }
        if (s["enum"] is JsonArray en && !en.Any(e => Json.DeepEquals(e, node)))
        {
            errors.Add(FieldError.NotSupported(display, Show(node), en.Select(e => e is JsonValue v && v.TryGetValue<string>(out var str) ? str : e?.ToJsonString() ?? "null")));
        }
        switch (node)
        {
            case JsonObject o:
                if (s["required"] is JsonArray req)
                {
                    foreach (var r in Json.Strings(req))
                    {
                        if (!o.ContainsKey(r))
                        {
                            errors.Add(FieldError.Required(Join(path, r)));
                        }
                    }
                }
                if (Num(s, "maxProperties") is { } maxP && o.Count > maxP)
                {
                    errors.Add(FieldError.TooMany(display, o.Count, (int)maxP));
                }
                if (Num(s, "minProperties") is { } minP && o.Count < minP)
                {
                    errors.Add(FieldError.Invalid(display, o.Count.ToString(CultureInfo.InvariantCulture), $"{display} in body should have at least {minP} properties"));
                }
                var props = s["properties"] as JsonObject;
                var additional = s["additionalProperties"] as JsonObject;
                foreach (var (k, v) in o)
                {
                    if (root && k is "apiVersion" or "kind" or "metadata")
                    {
                        continue;
                    }
                    if (props?[k] is JsonObject ps)
                    {
                        Check(v, ps, Join(path, k), errors, false);
                    }
                    else if (additional is not null)
                    {
                        Check(v, additional, Join(path, k), errors, false);
                    }
                }
                break;
            case JsonArray a:
                if (Num(s, "maxItems") is { } maxI && a.Count > maxI)
                {
                    errors.Add(FieldError.TooMany(display, a.Count, (int)maxI));
                }
                if (Num(s, "minItems") is { } minI && a.Count < minI)
                {
                    errors.Add(FieldError.Invalid(display, a.Count.ToString(CultureInfo.InvariantCulture), $"{display} in body should have at least {minI} items"));
                }
                var listType = Str(s, "x-kubernetes-list-type");
                if (listType == "map" && s["x-kubernetes-list-map-keys"] is JsonArray mapKeys)
                {
                    var keys = Json.Strings(mapKeys).ToList();
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    for (var i = 0; i < a.Count; i++)
                    {
                        var tuple = string.Join("\u0001", keys.Select(k => (a[i] as JsonObject)?[k]?.ToJsonString() ?? "null"));
                        if (!seen.Add(tuple))
                        {
                            var shown = "{" + string.Join(", ", keys.Select(k => $"\"{k}\":{(a[i] as JsonObject)?[k]?.ToJsonString() ?? "null"}")) + "}";
                            errors.Add(new FieldError("FieldValueDuplicate", $"{path}[{i}]", $"Duplicate value: map[string]interface {{}}{shown}"));
                        }
                    }
                }
                if ((listType == "set" || Bool(s, "uniqueItems")) && a.Select(i => i?.ToJsonString()).Distinct().Count() != a.Count)
                {
                    errors.Add(new FieldError("FieldValueDuplicate", display, $"Duplicate value: {display} in body shouldn't contain duplicates"));
                }
                if (s["items"] is JsonObject items)
                {
                    for (var i = 0; i < a.Count; i++)
                    {
                        Check(a[i], items, $"{path}[{i}]", errors, false);
                    }
                }
                break;
            case JsonValue v when v.TryGetValue<string>(out var str):
                if (Num(s, "maxLength") is { } maxL && str.Length > maxL)
                {
                    errors.Add(FieldError.TooLong(display, (int)maxL));
                }
                if (Num(s, "minLength") is { } minL && str.Length < minL)
                {
                    errors.Add(FieldError.Invalid(display, Show(node), $"{display} in body should be at least {minL} chars long"));
                }
                if (Str(s, "pattern") is { } pattern && !Matches(pattern, str))
                {
                    errors.Add(FieldError.Invalid(display, Show(node), $"{display} in body should match '{pattern}'"));
                }
                break;
            case JsonValue v when TypeOf(v) is "integer" or "number":
                var d = Json.Double(v) ?? 0;
                if (Num(s, "minimum") is { } min && (Bool(s, "exclusiveMinimum") ? d <= min : d < min))
                {
                    errors.Add(FieldError.Invalid(display, Show(node), $"{display} in body should be greater than {(Bool(s, "exclusiveMinimum") ? "" : "or equal to ")}{Fmt(min)}"));
                }
                if (Num(s, "maximum") is { } max && (Bool(s, "exclusiveMaximum") ? d >= max : d > max))
                {
                    errors.Add(FieldError.Invalid(display, Show(node), $"{display} in body should be less than {(Bool(s, "exclusiveMaximum") ? "" : "or equal to ")}{Fmt(max)}"));
                }
                if (Num(s, "multipleOf") is { } mult && mult != 0 && Math.Abs(d / mult - Math.Round(d / mult)) > 1e-9)
                {
                    errors.Add(FieldError.Invalid(display, Show(node), $"{display} in body should be a multiple of {Fmt(mult)}"));
                }
                break;
        }
        foreach (var sub in (s["allOf"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            Check(node, sub, path, errors, root);
        }
        if (s["anyOf"] is JsonArray anyOf && !anyOf.OfType<JsonObject>().Any(sub => Validate(node, sub, path).Count == 0))
        {
            errors.Add(FieldError.Invalid(display, Show(node), $"{display} in body must match at least one schema (anyOf)"));
        }
        if (s["oneOf"] is JsonArray oneOf && oneOf.OfType<JsonObject>().Count(sub => Validate(node, sub, path).Count == 0) != 1)
        {
            errors.Add(FieldError.Invalid(display, Show(node), $"{display} in body must match exactly one schema (oneOf)"));
        }
        if (s["not"] is JsonObject not && Validate(node, not, path).Count == 0)
        {
            errors.Add(FieldError.Invalid(display, Show(node), $"{display} in body must not match the schema (not)"));
        }
    }

    private static bool Matches(string pattern, string value)
    {
        try
        {
            return Regex.IsMatch(value, pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    private static string Join(string path, string field) => path.Length == 0 ? field : path + "." + field;

    private static string TypeOf(JsonNode node) => node switch
    {
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v when v.TryGetValue<string>(out _) => "string",
        JsonValue v when v.TryGetValue<bool>(out _) => "boolean",
        JsonValue v when Json.Double(v) is { } d => d == Math.Floor(d) && !v.ToJsonString().Contains('.', StringComparison.Ordinal) && !v.ToJsonString().Contains('e', StringComparison.OrdinalIgnoreCase) ? "integer" : "number",
        _ => "unknown",
    };

    private static string Show(JsonNode? node) => node switch
    {
        null => "null",
        JsonValue v when v.TryGetValue<string>(out var s) => "\"" + s + "\"",
        JsonObject => "\"object\"",
        JsonArray => "\"array\"",
        _ => node.ToJsonString(),
    };

    private static string Fmt(double d) => d.ToString(CultureInfo.InvariantCulture);

    private static bool Bool(JsonObject s, string key) => s[key] is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    private static string? Str(JsonObject s, string key) => Json.Str(s, key);

    private static double? Num(JsonObject s, string key) => s[key] is JsonValue v ? Json.Double(v) : null;
}
