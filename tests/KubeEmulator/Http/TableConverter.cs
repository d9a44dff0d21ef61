using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Http;

/// <summary>
/// meta.k8s.io/v1 Table responses (what `kubectl get` asks for): CRD printer columns, the columns of the
/// built-in printers for pods and a few others, Name+Age otherwise.
/// </summary>
internal sealed class TableConverter(TimeProvider time)
{
    public static bool Wants(string? accept) => accept is not null && accept.Contains("as=Table", StringComparison.Ordinal);

    public JsonObject Convert(ResourceType t, IEnumerable<JsonObject> items, string resourceVersion, string? cont, string includeObject, bool withColumns = true)
    {
        var columns = Columns(t);
        var rows = new JsonArray();
        foreach (var item in items)
        {
            var cells = new JsonArray();
            foreach (var c in columns)
            {
                cells.Add(Cell(item, c));
            }
            var row = new JsonObject { ["cells"] = cells };
            row["object"] = includeObject switch
            {
                "None" => null,
                "Object" => item.DeepClone(),
                _ => new JsonObject { ["kind"] = "PartialObjectMetadata", ["apiVersion"] = "meta.k8s.io/v1", ["metadata"] = item["metadata"]?.DeepClone() },
            };
            if (includeObject == "None")
            {
                row.Remove("object");
            }
            rows.Add(row);
        }
        var meta = new JsonObject { ["resourceVersion"] = resourceVersion };
        if (cont is not null)
        {
            meta["continue"] = cont;
        }
        var table = new JsonObject { ["kind"] = "Table", ["apiVersion"] = "meta.k8s.io/v1", ["metadata"] = meta };
        if (withColumns)
        {
            var defs = new JsonArray();
            foreach (var c in columns)
            {
                var d = new JsonObject { ["name"] = c.Name, ["type"] = c.Type == "date" ? "string" : c.Type, ["format"] = c.Format ?? (c.Name == "Name" ? "name" : ""), ["description"] = c.Description, ["priority"] = c.Priority };
                defs.Add(d);
            }
            table["columnDefinitions"] = defs;
        }
        table["rows"] = rows;
        return table;
    }

    private static List<PrinterColumn> Columns(ResourceType t)
    {
        var name = new PrinterColumn("Name", "string", "name", "Name must be unique within a namespace.", 0, ".metadata.name");
        var age = new PrinterColumn("Age", "date", null, "CreationTimestamp is a timestamp representing the server time when this object was created.", 0, ".metadata.creationTimestamp");
        if (t.Custom is not null)
        {
            return [name, .. t.Custom.Columns];
        }
        return t.GroupResource switch
        {
            "pods" =>
            [
                name,
                new("Ready", "string", null, "The aggregate readiness state of this pod for accepting traffic.", 0, "#ready"),
                new("Status", "string", null, "The aggregate status of the containers in this pod.", 0, "#status"),
                new("Restarts", "string", null, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", 0, "#restarts"),
                age,
                new("IP", "string", null, "IP address allocated to the pod.", 1, ".status.podIP"),
                new("Node", "string", null, "Name of the Node where the Pod is running.", 1, ".spec.nodeName"),
            ],
            "namespaces" => [name, new("Status", "string", null, "The status of the namespace", 0, ".status.phase"), age],
            "nodes" => [name, new("Status", "string", null, "The status of the node", 0, "#nodestatus"), new("Roles", "string", null, "The roles of the node", 0, "#roles"), age, new("Version", "string", null, "Kubelet Version reported by the node.", 0, ".status.nodeInfo.kubeletVersion")],
            "configmaps" => [name, new("Data", "integer", null, "Number of data in the configmap", 0, "#datacount"), age],
            "secrets" => [name, new("Type", "string", null, "The type of the secret", 0, ".type"), new("Data", "integer", null, "Number of data in the secret", 0, "#datacount"), age],
            "serviceaccounts" => [name, new("Secrets", "integer", null, "Number of secrets", 0, "#secrets"), age],
            "persistentvolumeclaims" => [name, new("Status", "string", null, "", 0, ".status.phase"), new("Volume", "string", null, "", 0, ".spec.volumeName"), new("Capacity", "string", null, "", 0, ".status.capacity.storage"), age],
            "services" => [name, new("Type", "string", null, "", 0, ".spec.type"), new("Cluster-IP", "string", null, "", 0, ".spec.clusterIP"), age],
            "leases.coordination.k8s.io" => [name, new("Holder", "string", null, "", 0, ".spec.holderIdentity"), age],
            "events" => [new("Last Seen", "string", null, "", 0, "#lastseen"), new("Type", "string", null, "", 0, ".type"), new("Reason", "string", null, "", 0, ".reason"), new("Object", "string", null, "", 0, "#involved"), new("Message", "string", null, "", 0, ".message")],
            "customresourcedefinitions.apiextensions.k8s.io" => [name, new("Created At", "string", null, "", 0, ".metadata.creationTimestamp")],
            _ => [name, age],
        };
    }

    private JsonNode? Cell(JsonObject item, PrinterColumn c)
    {
        if (c.JsonPath.StartsWith('#'))
        {
            return Special(c.JsonPath, item);
        }
        List<JsonNode?> values;
        try
        {
            values = JsonPathLite.Evaluate(item, c.JsonPath);
        }
        catch (FormatException)
        {
            return null;
        }
        if (values.Count == 0)
        {
            return null;
        }
        var v = values.Count == 1 ? values[0] : new JsonArray(values.Select(x => x?.DeepClone()).ToArray());
        return c.Type switch
        {
            "date" => Json.ParseTimestamp(JsonPathLite.Text(v)) is { } ts ? Age(ts) : JsonPathLite.Text(v),
            "integer" when v is JsonValue iv && Json.Double(iv) is { } d => (long)d,
            "number" when v is JsonValue nv && Json.Double(nv) is { } d2 => d2,
            "boolean" when v is JsonValue bv && bv.TryGetValue<bool>(out var b) => b,
            _ => v is JsonValue sv ? JsonPathLite.Text(sv) : v?.ToJsonString(),
        };
    }

    private JsonNode? Special(string what, JsonObject item)
    {
        switch (what)
        {
            case "#ready":
                {
                    var statuses = (Json.At(item, "status", "containerStatuses") as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
                    var total = (Json.At(item, "spec", "containers") as JsonArray)?.Count ?? 0;
                    var ready = statuses.Count(s => Json.At(s, "ready") is JsonValue b && b.GetValue<bool>());
                    return $"{ready}/{total}";
                }
            case "#status":
                return PodStatus(item);
            case "#restarts":
                {
                    var statuses = (Json.At(item, "status", "containerStatuses") as JsonArray)?.OfType<JsonObject>() ?? [];
                    return statuses.Sum(s => Json.Long(s, "restartCount") ?? 0).ToString(CultureInfo.InvariantCulture);
                }
            case "#nodestatus":
                {
                    var ready = (Json.At(item, "status", "conditions") as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => Json.Str(c, "type") == "Ready");
                    return Json.Str(ready, "status") == "True" ? "Ready" : "NotReady";
                }
            case "#roles":
                return "<none>";
            case "#datacount":
                return ((item["data"] as JsonObject)?.Count ?? 0) + ((item["binaryData"] as JsonObject)?.Count ?? 0);
            case "#secrets":
                return (item["secrets"] as JsonArray)?.Count ?? 0;
            case "#lastseen":
                return Json.ParseTimestamp(Json.Str(item, "lastTimestamp") ?? Json.Str(item, "eventTime") ?? Json.Str(item, "metadata", "creationTimestamp")) is { } ts ? Age(ts) : "<unknown>";
            case "#involved":
                return $"{Json.Str(item, "involvedObject", "kind")?.ToLowerInvariant()}/{Json.Str(item, "involvedObject", "name")}";
            default:
                return null;
        }
    }

    /// <summary>The STATUS column kubectl shows for a pod: a waiting/terminated reason, Terminating, or the phase.</summary>
    public static string PodStatus(JsonObject pod)
    {
        var reason = Json.Str(pod, "status", "reason") ?? Json.Str(pod, "status", "phase") ?? "Pending";
        foreach (var s in (Json.At(pod, "status", "containerStatuses") as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            if (Json.Str(s, "state", "waiting", "reason") is { Length: > 0 } w)
            {
                reason = w;
            }
            else if (Json.At(s, "state", "terminated") is JsonObject term)
            {
                reason = Json.Str(term, "reason") ?? (Json.Long(term, "signal") is { } sig and > 0 ? $"Signal:{sig}" : $"ExitCode:{Json.Long(term, "exitCode")}");
            }
        }
        if (Json.At(pod, "metadata", "deletionTimestamp") is not null)
        {
            reason = Json.Str(pod, "status", "reason") == "NodeLost" ? "Unknown" : "Terminating";
        }
        return reason;
    }

    private string Age(DateTimeOffset since) => HumanDuration(time.GetUtcNow() - since);

    /// <summary>apimachinery's duration.HumanDuration.</summary>
    public static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        if (seconds < -1)
        {
            return "<invalid>";
        }
        if (seconds < 0)
        {
            return "0s";
        }
        if (seconds < 60 * 2)
        {
            return $"{seconds}s";
        }
        var minutes = seconds / 60;
        if (minutes < 10)
        {
            var s = seconds % 60;
            return s == 0 ? $"{minutes}m" : $"{minutes}m{s}s";
        }
        if (minutes < 60 * 3)
        {
            return $"{minutes}m";
        }
        var hours = minutes / 60;
        if (hours < 8)
        {
            var m = minutes % 60;
            return m == 0 ? $"{hours}h" : $"{hours}h{m}m";
        }
        if (hours < 48)
        {
            return $"{hours}h";
        }
        if (hours < 24 * 8)
        {
            var h = hours % 24;
            return h == 0 ? $"{hours / 24}d" : $"{hours / 24}d{h}h";
        }
        if (hours < 24 * 365 * 2)
        {
            return $"{hours / 24}d";
        }
        if (hours < 24 * 365 * 8)
        {
            var dy = hours / 24 % 365;
            return dy == 0 ? $"{hours / 24 / 365}y" : $"{hours / 24 / 365}y{dy}d";
        }
        return $"{hours / 24 / 365}y";
    }
}
