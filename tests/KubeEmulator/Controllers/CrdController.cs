using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Storage;

namespace KubeEmulator.Controllers;

/// <summary>
/// Serves the resources of each CustomResourceDefinition: registers them the moment the CRD is written (the real
/// server takes a moment; tests waiting for Established work either way), marks the CRD Established, and on
/// deletion removes every custom resource of it before unregistering.
/// </summary>
internal sealed class CrdController(ResourceService service)
{
    public void OnCommitted(ResourceType t, JsonObject? old, JsonObject? current)
    {
        if (t.GroupResource != "customresourcedefinitions." + BuiltinResources.CrdGroup)
        {
            return;
        }
        if (current is null)
        {
            var name = Json.Str(old, "metadata", "name")!;
            var types = service.Registry.All.Where(x => x.Custom?.CrdName == name).ToList();
            if (types.Count > 0)
            {
                var gr = types[0].GroupResource;
                foreach (var (_, obj) in service.Store.List(gr, null).ToList())
                {
                    service.Store.Remove(gr, Json.Str(obj, "metadata", "namespace"), Json.Str(obj, "metadata", "name")!);
                }
            }
            service.Registry.RemoveCrd(name);
            return;
        }
        Register(current);
        var status = Json.Clone(current);
        var st = Json.Obj(status, "status");
        var now = Json.Timestamp(service.Time.GetUtcNow());
        st["acceptedNames"] = Json.At(current, "spec", "names")?.DeepClone();
        var storedVersions = Json.Strings(Json.At(current, "status", "storedVersions")).ToList();
        var storage = (Json.At(current, "spec", "versions") as JsonArray)?.OfType<JsonObject>().FirstOrDefault(v => Json.At(v, "storage") is JsonValue b && b.GetValue<bool>());
        if (storage is not null && !storedVersions.Contains(Json.Str(storage, "name")!))
        {
            storedVersions.Add(Json.Str(storage, "name")!);
        }
        st["storedVersions"] = Json.StringArray(storedVersions);
        var conditions = new JsonArray
        {
            Condition("NamesAccepted", "NoConflicts", "no conflicts found", now, current),
            Condition("Established", "InitialNamesAccepted", "the initial names have been accepted", now, current),
        };
        st["conditions"] = conditions;
        if (!Json.DeepEquals(Strip(current["status"]), Strip(st)))
        {
            service.Store.Put(t.GroupResource, status);
        }
    }

    private static JsonNode? Strip(JsonNode? status)
    {
        if (status is not JsonObject o)
        {
            return null;
        }
        var c = (JsonObject)o.DeepClone();
        foreach (var cond in (c["conditions"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            cond.Remove("lastTransitionTime");
        }
        return c;
    }

    private static JsonObject Condition(string type, string reason, string message, string now, JsonObject crd)
    {
        var existing = (Json.At(crd, "status", "conditions") as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => Json.Str(c, "type") == type && Json.Str(c, "status") == "True");
        return new JsonObject
        {
            ["type"] = type,
            ["status"] = "True",
            ["lastTransitionTime"] = Json.Str(existing, "lastTransitionTime") ?? now,
            ["reason"] = reason,
            ["message"] = message,
        };
    }

    public void Register(JsonObject crd)
    {
        var name = Json.Str(crd, "metadata", "name")!;
        var spec = Json.Obj(crd, "spec");
        var names = Json.Obj(spec, "names");
        service.Registry.RemoveCrd(name);
        foreach (var v in (spec["versions"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            if (Json.At(v, "served") is JsonValue served && !served.GetValue<bool>())
            {
                continue;
            }
            var columns = new List<PrinterColumn>();
            foreach (var c in (v["additionalPrinterColumns"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                columns.Add(new PrinterColumn(Json.Str(c, "name") ?? "", Json.Str(c, "type") ?? "string", Json.Str(c, "format"), Json.Str(c, "description") ?? "", (int)(Json.Long(c, "priority") ?? 0), Json.Str(c, "jsonPath") ?? ""));
            }
            if (columns.Count == 0)
            {
                columns.Add(new PrinterColumn("Age", "date", null, "CreationTimestamp is a timestamp representing the server time when this object was created.", 0, ".metadata.creationTimestamp"));
            }
            var schema = Json.At(v, "schema", "openAPIV3Schema")?.DeepClone() as JsonObject;
            Json.Materialize(schema);
            service.Registry.Add(new ResourceType
            {
                Group = Json.Str(spec, "group")!,
                Version = Json.Str(v, "name")!,
                Resource = Json.Str(names, "plural")!,
                Kind = Json.Str(names, "kind")!,
                Singular = Json.Str(names, "singular") ?? Json.Str(names, "kind")!.ToLowerInvariant(),
                Namespaced = Json.Str(spec, "scope") == "Namespaced",
                ShortNames = Json.Strings(names["shortNames"]).ToList(),
                Categories = Json.Strings(names["categories"]).ToList(),
                HasStatus = Json.At(v, "subresources", "status") is JsonObject,
                TracksGeneration = true,
                Custom = new CustomResourceInfo(name, schema, columns, Json.At(v, "storage") is JsonValue s && s.GetValue<bool>(), Json.Str(v, "subresources", "scale", "specReplicasPath")),
            });
        }
    }
}
