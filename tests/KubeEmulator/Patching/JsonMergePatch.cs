using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Patching;

/// <summary>RFC 7386 JSON merge patch: objects merge, null deletes, everything else (lists too) replaces.</summary>
internal static class JsonMergePatch
{
    public static JsonObject Apply(JsonObject target, JsonNode? patch)
    {
        if (patch is not JsonObject p)
        {
            throw ApiException.BadRequest("a merge patch must be a JSON object");
        }
        var result = Json.Clone(target);
        Merge(result, p);
        return result;
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (k, v) in patch)
        {
            if (v is null)
            {
                target.Remove(k);
            }
            else if (v is JsonObject po)
            {
                if (target[k] is not JsonObject to)
                {
                    to = new JsonObject();
                    target[k] = to;
                }
                Merge(to, po);
            }
            else
            {
                target[k] = v.DeepClone();
            }
        }
    }
}
