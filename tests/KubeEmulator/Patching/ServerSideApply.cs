using System.Text;
using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Patching;

/// <summary>
/// Server-side apply (application/apply-patch+yaml): merges the configuration, removes the fields this manager
/// applied before and no longer applies (unless another manager owns them), and refuses to overwrite another
/// manager's differing values without force (409 with one cause per conflicting field).
/// </summary>
internal static class ServerSideApply
{
    public static JsonObject ParseConfig(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body).TrimStart();
        JsonNode? node = text.StartsWith('{') ? Json.Parse(body) : YamlJson.Parse(text);
        return node as JsonObject ?? throw ApiException.BadRequest("the apply configuration must be an object");
    }

    public static JsonObject Apply(ResourceType t, JsonObject current, JsonObject config, string manager, bool force, string? subresource, TimeProvider time)
    {
        var cfg = Json.Clone(config);
        if (subresource == "status")
        {
            cfg = new JsonObject { ["apiVersion"] = cfg["apiVersion"]?.DeepClone(), ["kind"] = cfg["kind"]?.DeepClone(), ["status"] = cfg["status"]?.DeepClone() };
        }
        else if (t.HasStatus)
        {
            cfg.Remove("status");
        }
        var entries = ManagedFields.Read(current);
        var applied = FieldPaths.Leaves(cfg);
        var conflicts = new List<(string Manager, string Path)>();
        foreach (var e in entries)
        {
            if (e.Manager == manager && e.Operation == "Apply" && e.Subresource == subresource)
            {
                continue;
            }
            foreach (var p in applied)
            {
                if (e.Fields.Contains(p) && !Json.DeepEquals(FieldPaths.Get(current, p), FieldPaths.Get(cfg, p)))
                {
                    conflicts.Add((e.Manager, p));
                }
            }
        }
        if (conflicts.Count > 0 && !force)
        {
            var causes = new JsonArray();
            foreach (var (m, p) in conflicts)
            {
                causes.Add(new JsonObject { ["reason"] = "FieldManagerConflict", ["message"] = $"conflict with \"{m}\"", ["field"] = FieldPaths.Display(p) });
            }
            var lines = string.Join("\n", conflicts.Select(c => $"- {c.Manager}: {FieldPaths.Display(c.Path)}"));
            throw new ApiException(409, "Conflict", $"Apply failed with {conflicts.Count} conflict{(conflicts.Count == 1 ? "" : "s")}: conflicts with \"{conflicts[0].Manager}\":\n{lines}", new JsonObject { ["causes"] = causes });
        }
        var result = Json.Clone(current);
        var mine = entries.Find(e => e.Manager == manager && e.Operation == "Apply" && e.Subresource == subresource);
        if (mine is not null)
        {
            foreach (var p in mine.Fields.Except(applied))
            {
                var ownedElsewhere = entries.Any(e => !ReferenceEquals(e, mine) && e.Fields.Contains(p));
                if (!ownedElsewhere)
                {
                    FieldPaths.Remove(result, p);
                }
            }
        }
        Merge(result, cfg);
        foreach (var e in entries)
        {
            if (!ReferenceEquals(e, mine))
            {
                e.Fields.ExceptWith(applied);
            }
        }
        entries.Remove(mine!);
        entries.Add(new ManagedFields.Entry(manager, "Apply", t.ApiVersion, Json.Timestamp(time.GetUtcNow()), subresource, applied));
        ManagedFields.Write(result, entries);
        return result;
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (k, v) in patch)
        {
            if (v is JsonObject po && target[k] is JsonObject to)
            {
                Merge(to, po);
            }
            else
            {
                target[k] = v?.DeepClone();
            }
        }
    }
}
