using System.Text.Json.Nodes;

namespace KubeEmulator.Patching;

/// <summary>
/// Leaf field paths of an object, the unit of ownership for managed fields. Lists are atomic (one leaf), which is
/// what a CRD schema without x-kubernetes-list-type gets in the real server too.
/// </summary>
internal static class FieldPaths
{
    private static readonly HashSet<string> SystemMeta = new(StringComparer.Ordinal)
    {
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generateName",
    };

    public const char Sep = '\u0001';

    public static HashSet<string> Leaves(JsonObject obj)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, v) in obj)
        {
            if (k is "apiVersion" or "kind")
            {
                continue;
            }
            if (k == "metadata" && v is JsonObject m)
            {
                foreach (var (mk, mv) in m)
                {
                    if (!SystemMeta.Contains(mk))
                    {
                        Walk("metadata" + Sep + mk, mv, set);
                    }
                }
                continue;
            }
            Walk(k, v, set);
        }
        return set;
    }

    private static void Walk(string path, JsonNode? node, HashSet<string> set)
    {
        if (node is JsonObject o && o.Count > 0)
        {
            foreach (var (k, v) in o)
            {
                Walk(path + Sep + k, v, set);
            }
            return;
        }
        set.Add(path);
    }

    public static JsonNode? Get(JsonObject obj, string path)
    {
        JsonNode? n = obj;
        foreach (var p in path.Split(Sep))
        {
            if (n is not JsonObject o || !o.TryGetPropertyValue(p, out n))
            {
                return null;
            }
        }
        return n;
    }

    public static bool Exists(JsonObject obj, string path)
    {
        JsonNode? n = obj;
        foreach (var p in path.Split(Sep))
        {
            if (n is not JsonObject o || !o.TryGetPropertyValue(p, out n))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Removes a leaf and any parents it leaves empty.</summary>
    public static void Remove(JsonObject obj, string path)
    {
        var parts = path.Split(Sep);
        var chain = new List<JsonObject> { obj };
        JsonNode? n = obj;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (n is not JsonObject o || o[parts[i]] is not JsonObject child)
            {
                return;
            }
            chain.Add(child);
            n = child;
        }
        chain[^1].Remove(parts[^1]);
        for (var i = chain.Count - 1; i > 0; i--)
        {
            if (chain[i].Count == 0)
            {
                chain[i - 1].Remove(parts[i - 1]);
            }
            else
            {
                break;
            }
        }
    }

    public static string Display(string path) => "." + path.Replace(Sep, '.');

    /// <summary>fieldsV1 encoding: {"f:spec":{"f:replicas":{}}}.</summary>
    public static JsonObject ToFieldsV1(IEnumerable<string> paths)
    {
        var root = new JsonObject();
        foreach (var p in paths.Order(StringComparer.Ordinal))
        {
            var cur = root;
            foreach (var part in p.Split(Sep))
            {
                var key = "f:" + part;
                if (cur[key] is not JsonObject next)
                {
                    next = new JsonObject();
                    cur[key] = next;
                }
                cur = next;
            }
        }
        return root;
    }

    public static HashSet<string> FromFieldsV1(JsonNode? node)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (node is JsonObject o)
        {
            Collect("", o, set);
        }
        return set;
    }

    private static void Collect(string prefix, JsonObject o, HashSet<string> set)
    {
        foreach (var (k, v) in o)
        {
            if (!k.StartsWith("f:", StringComparison.Ordinal))
            {
                continue;
            }
            var path = prefix.Length == 0 ? k[2..] : prefix + Sep + k[2..];
            if (v is JsonObject child && child.Any(c => c.Key.StartsWith("f:", StringComparison.Ordinal)))
            {
                Collect(path, child, set);
            }
            else
            {
                set.Add(path);
            }
        }
    }
}
