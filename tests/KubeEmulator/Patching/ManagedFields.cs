using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Patching;

/// <summary>metadata.managedFields bookkeeping: which manager set which leaf, by Update or by Apply.</summary>
internal static class ManagedFields
{
    internal sealed record Entry(string Manager, string Operation, string ApiVersion, string Time, string? Subresource, HashSet<string> Fields);

    public static List<Entry> Read(JsonObject obj)
    {
        var list = new List<Entry>();
        if (Json.At(obj, "metadata", "managedFields") is JsonArray arr)
        {
            foreach (var e in arr.OfType<JsonObject>())
            {
                list.Add(new Entry(Json.Str(e, "manager") ?? "", Json.Str(e, "operation") ?? "Update", Json.Str(e, "apiVersion") ?? "", Json.Str(e, "time") ?? "", Json.Str(e, "subresource"), FieldPaths.FromFieldsV1(e["fieldsV1"])));
            }
        }
        return list;
    }

    public static void Write(JsonObject obj, List<Entry> entries)
    {
        var arr = new JsonArray();
        foreach (var e in entries.Where(e => e.Fields.Count > 0))
        {
            var o = new JsonObject { ["manager"] = e.Manager, ["operation"] = e.Operation, ["apiVersion"] = e.ApiVersion, ["time"] = e.Time, ["fieldsType"] = "FieldsV1", ["fieldsV1"] = FieldPaths.ToFieldsV1(e.Fields) };
            if (e.Subresource is not null)
            {
                o["subresource"] = e.Subresource;
            }
            arr.Add(o);
        }
        if (arr.Count > 0)
        {
            Json.Metadata(obj)["managedFields"] = arr;
        }
        else
        {
            Json.Metadata(obj).Remove("managedFields");
        }
    }

    /// <summary>A non-apply write: the manager takes the leaves whose values it changed (all of them on create).</summary>
    public static void RecordUpdate(JsonObject obj, JsonObject? old, string manager, string apiVersion, TimeProvider time, string? subresource)
    {
        var entries = old is null ? [] : Read(old);
        var now = FieldPaths.Leaves(obj);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in now)
        {
            if (old is null || !Json.DeepEquals(FieldPaths.Get(old, p), FieldPaths.Get(obj, p)))
            {
                changed.Add(p);
            }
        }
        foreach (var e in entries)
        {
            e.Fields.ExceptWith(changed);
            e.Fields.IntersectWith(now);
        }
        if (changed.Count > 0)
        {
            var mine = entries.Find(e => e.Manager == manager && e.Operation == "Update" && e.Subresource == subresource);
            if (mine is null)
            {
                entries.Add(new Entry(manager, "Update", apiVersion, Json.Timestamp(time.GetUtcNow()), subresource, changed));
            }
            else
            {
                mine.Fields.UnionWith(changed);
                entries[entries.IndexOf(mine)] = mine with { Time = Json.Timestamp(time.GetUtcNow()) };
            }
        }
        Write(obj, entries);
    }

    /// <summary>Records an apply configuration as the manager's Apply set (creation through apply).</summary>
    public static void SetApplied(JsonObject obj, string manager, JsonObject config, string apiVersion, TimeProvider time)
    {
        var entries = Read(obj).Where(e => e.Manager != manager || e.Operation != "Apply").ToList();
        var fields = FieldPaths.Leaves(config);
        foreach (var e in entries)
        {
            e.Fields.ExceptWith(fields);
        }
        entries.Add(new Entry(manager, "Apply", apiVersion, Json.Timestamp(time.GetUtcNow()), null, fields));
        Write(obj, entries);
    }
}
