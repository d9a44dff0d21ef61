using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Patching;

/// <summary>
/// Strategic merge patch for the built-in types kubectl patches: lists with a patch merge key merge by that key
/// (containers by name, volumeMounts by mountPath, conditions by type, ...), finalizers merge as a set, other lists
/// replace; the $patch, $retainKeys, $deleteFromPrimitiveList and $setElementOrder directives are understood.
/// The merge keys come from the field name, which is unambiguous for the types the emulator serves.
/// Custom resources do not support it (415, as in the real server).
/// </summary>
internal static class StrategicMergePatch
{
    private static readonly Dictionary<string, string> MergeKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["ephemeralContainers"] = "name",
        ["env"] = "name",
        ["volumes"] = "name",
        ["volumeMounts"] = "mountPath",
        ["volumeDevices"] = "devicePath",
        ["conditions"] = "type",
        ["imagePullSecrets"] = "name",
        ["ownerReferences"] = "uid",
        ["hostAliases"] = "ip",
        ["topologySpreadConstraints"] = "topologyKey",
        ["resourceClaims"] = "name",
        ["containerStatuses"] = "name",
        ["initContainerStatuses"] = "name",
        ["secrets"] = "name",
    };

    private static readonly HashSet<string> MergePrimitiveLists = new(StringComparer.Ordinal) { "finalizers" };

    public static JsonObject Apply(JsonObject target, JsonNode? patch, ResourceType t)
    {
        if (t.Custom is not null)
        {
            throw ApiException.UnsupportedMediaType("application/strategic-merge-patch+json (not supported for custom resources; use a JSON merge patch)");
        }
        if (patch is not JsonObject p)
        {
            throw ApiException.BadRequest("a strategic merge patch must be a JSON object");
        }
        var result = Json.Clone(target);
        MergeMap(result, p);
        return result;
    }

    private static void MergeMap(JsonObject target, JsonObject patch)
    {
        if (Json.Str(patch, "$patch") == "replace")
        {
            var keep = patch.Where(kv => !kv.Key.StartsWith('$')).Select(kv => (kv.Key, kv.Value?.DeepClone())).ToList();
            target.Clear();
            foreach (var (k, v) in keep)
            {
                target[k] = v;
            }
            return;
        }
        foreach (var (k, v) in patch.ToList())
        {
            if (k.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var field = k["$deleteFromPrimitiveList/".Length..];
                if (target[field] is JsonArray arr && v is JsonArray del)
                {
                    var remove = del.Select(d => d?.ToJsonString()).ToHashSet();
                    target[field] = new JsonArray(arr.Where(x => !remove.Contains(x?.ToJsonString())).Select(x => x?.DeepClone()).ToArray());
                }
                continue;
            }
            if (k.StartsWith('$'))
            {
                continue;
            }
            if (v is null)
            {
                target.Remove(k);
                continue;
            }
            if (v is JsonObject po)
            {
                if (Json.Str(po, "$patch") == "delete")
                {
                    target.Remove(k);
                    continue;
                }
                if (target[k] is not JsonObject to)
                {
                    to = new JsonObject();
                    target[k] = to;
                }
                MergeMap(to, po);
                continue;
            }
            if (v is JsonArray pa)
            {
                target[k] = MergeList(k, target[k] as JsonArray, pa);
                continue;
            }
            target[k] = v.DeepClone();
        }
        if (patch["$retainKeys"] is JsonArray retain)
        {
            var keys = Json.Strings(retain).ToHashSet(StringComparer.Ordinal);
            foreach (var k in target.Select(kv => kv.Key).ToList())
            {
                if (!keys.Contains(k))
                {
                    target.Remove(k);
                }
            }
        }
    }

    private static JsonArray MergeList(string field, JsonArray? current, JsonArray patch)
    {
        if (patch.Any(i => i is JsonObject o && Json.Str(o, "$patch") == "replace"))
        {
            return new JsonArray(patch.Where(i => !(i is JsonObject o && Json.Str(o, "$patch") == "replace")).Select(i => i?.DeepClone()).ToArray());
        }
        if (MergePrimitiveLists.Contains(field))
        {
            var merged = current?.Select(i => i?.DeepClone()).ToList() ?? [];
            foreach (var item in patch)
            {
                if (!merged.Any(m => Json.DeepEquals(m, item)))
                {
                    merged.Add(item?.DeepClone());
                }
            }
            return new JsonArray(merged.ToArray());
        }
        var key = MergeKeys.GetValueOrDefault(field);
        if (field == "ports")
        {
            key = patch.OfType<JsonObject>().Any(p => p.ContainsKey("containerPort")) ? "containerPort" : "port";
        }
        if (key is null || current is null)
        {
            return new JsonArray(patch.Where(i => !(i is JsonObject o && Json.Str(o, "$patch") == "delete")).Select(i => StripDirectives(i?.DeepClone())).ToArray());
        }
        var result = current.Select(i => i?.DeepClone()).ToList();
        foreach (var item in patch)
        {
            if (item is not JsonObject po)
            {
                continue;
            }
            var kv = po[key]?.ToJsonString();
            var idx = result.FindIndex(r => r is JsonObject ro && ro[key]?.ToJsonString() == kv);
            if (Json.Str(po, "$patch") == "delete")
            {
                if (idx >= 0)
                {
                    result.RemoveAt(idx);
                }
                continue;
            }
            if (idx >= 0 && result[idx] is JsonObject existing)
            {
                MergeMap(existing, po);
            }
            else
            {
                result.Add(StripDirectives(po.DeepClone()));
            }
        }
        return new JsonArray(result.ToArray());
    }

    private static JsonNode? StripDirectives(JsonNode? n)
    {
        if (n is JsonObject o)
        {
            foreach (var k in o.Select(kv => kv.Key).Where(k => k.StartsWith('$')).ToList())
            {
                o.Remove(k);
            }
            foreach (var (_, v) in o.ToList())
            {
                StripDirectives(v);
            }
        }
        return n;
    }
}
