using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Patching;

/// <summary>RFC 6902 JSON patch (add, remove, replace, move, copy, test) with RFC 6901 pointers.</summary>
internal static class JsonPatch
{
    public static JsonObject Apply(JsonObject target, JsonNode? patch)
    {
        if (patch is not JsonArray ops)
        {
            throw ApiException.BadRequest("a JSON patch must be an array of operations");
        }
        JsonNode root = Json.Clone(target);
        foreach (var opNode in ops)
        {
            var op = Json.Str(opNode, "op") ?? throw ApiException.BadRequest("JSON patch operation is missing \"op\"");
            var path = Json.Str(opNode, "path") ?? throw ApiException.BadRequest($"JSON patch operation {op} is missing \"path\"");
            var value = opNode is JsonObject oo && oo.TryGetPropertyValue("value", out var vv) ? vv?.DeepClone() : null;
            switch (op)
            {
                case "add":
                    root = Add(root, path, value);
                    break;
                case "remove":
                    root = Remove(root, path, out _);
                    break;
                case "replace":
                    root = Remove(root, path, out _);
                    root = Add(root, path, value);
                    break;
                case "move":
                    {
                        var from = Json.Str(opNode, "from") ?? throw ApiException.BadRequest("JSON patch move is missing \"from\"");
                        root = Remove(root, from, out var moved);
                        root = Add(root, path, moved);
                        break;
                    }
                case "copy":
                    {
                        var from = Json.Str(opNode, "from") ?? throw ApiException.BadRequest("JSON patch copy is missing \"from\"");
                        root = Add(root, path, Get(root, from)?.DeepClone());
                        break;
                    }
                case "test":
                    if (!Json.DeepEquals(Get(root, path), value))
                    {
                        throw new ApiException(422, "Invalid", $"the server rejected our request due to an error in our request: testing value {path} failed");
                    }
                    break;
                default:
                    throw ApiException.BadRequest($"Unexpected kind: {op}");
            }
        }
        return root as JsonObject ?? throw ApiException.BadRequest("the JSON patch replaced the object with a non-object");
    }

    private static List<string> Tokens(string pointer)
    {
        if (pointer.Length == 0)
        {
            return [];
        }
        if (!pointer.StartsWith('/'))
        {
            throw ApiException.BadRequest($"JSON pointer must start with '/': {pointer}");
        }
        return pointer[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToList();
    }

    private static JsonNode? Get(JsonNode root, string pointer)
    {
        JsonNode? n = root;
        foreach (var t in Tokens(pointer))
        {
            n = n switch
            {
                JsonObject o when o.TryGetPropertyValue(t, out var c) => c,
                JsonArray a when int.TryParse(t, CultureInfo.InvariantCulture, out var i) && i >= 0 && i < a.Count => a[i],
                _ => throw new ApiException(422, "Invalid", $"the server rejected our request due to an error in our request: doc is missing path: \"{pointer}\""),
            };
        }
        return n;
    }

    private static JsonNode Add(JsonNode root, string pointer, JsonNode? value)
    {
        var tokens = Tokens(pointer);
        if (tokens.Count == 0)
        {
            return value ?? throw ApiException.BadRequest("cannot replace the whole document with null");
        }
        var parent = Get(root, "/" + string.Join('/', tokens.SkipLast(1).Select(Escape)));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a:
                if (last == "-")
                {
                    a.Add(value);
                }
                else if (int.TryParse(last, CultureInfo.InvariantCulture, out var i) && i >= 0 && i <= a.Count)
                {
                    a.Insert(i, value);
                }
                else
                {
                    throw new ApiException(422, "Invalid", $"the server rejected our request due to an error in our request: add operation does not apply: doc is missing path: \"{pointer}\"");
                }
                break;
            default:
                throw new ApiException(422, "Invalid", $"the server rejected our request due to an error in our request: add operation does not apply: doc is missing path: \"{pointer}\"");
        }
        return root;
    }

    private static JsonNode Remove(JsonNode root, string pointer, out JsonNode? removed)
    {
        var tokens = Tokens(pointer);
        if (tokens.Count == 0)
        {
            throw ApiException.BadRequest("cannot remove the whole document");
        }
        var parent = tokens.Count == 1 ? root : Get(root, "/" + string.Join('/', tokens.SkipLast(1).Select(Escape)));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                removed = o[last];
                o.Remove(last);
                removed = removed?.DeepClone();
                return root;
            case JsonArray a when int.TryParse(last, CultureInfo.InvariantCulture, out var i) && i >= 0 && i < a.Count:
                removed = a[i]?.DeepClone();
                a.RemoveAt(i);
                return root;
            default:
                throw new ApiException(422, "Invalid", $"the server rejected our request due to an error in our request: remove operation does not apply: doc is missing path: \"{pointer}\"");
        }
    }

    private static string Escape(string t) => t.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}
