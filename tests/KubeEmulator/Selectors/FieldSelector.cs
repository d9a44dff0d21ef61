using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Selectors;

/// <summary>A field selector (a=b, a==b, a!=b, comma-separated) over the fields each resource supports for selection.</summary>
internal sealed class FieldSelector
{
    private static readonly string[] Common = ["metadata.name", "metadata.namespace"];
    private static readonly Dictionary<string, string[]> Supported = new(StringComparer.Ordinal)
    {
        ["pods"] = ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
        ["events"] = ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
        ["events.events.k8s.io"] = ["regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "reason", "type", "reportingController"],
        ["secrets"] = ["type"],
        ["namespaces"] = ["status.phase"],
        ["persistentvolumeclaims"] = ["status.phase"],
        ["nodes"] = ["spec.unschedulable"],
    };

    private readonly List<(string Field, bool Equal, string Value)> _terms = [];

    public bool IsEmpty => _terms.Count == 0;

    public static FieldSelector Parse(string? text, ResourceType type)
    {
        var sel = new FieldSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return sel;
        }
        var allowed = Common.Concat(Supported.GetValueOrDefault(type.GroupResource) ?? []).ToList();
        foreach (var raw in text.Split(','))
        {
            var term = raw.Trim();
            if (term.Length == 0)
            {
                continue;
            }
            var neq = term.IndexOf("!=", StringComparison.Ordinal);
            string field;
            string value;
            bool equal;
            if (neq > 0)
            {
                (field, value, equal) = (term[..neq], term[(neq + 2)..], false);
            }
            else
            {
                var eq = term.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw ApiException.BadRequest($"invalid selector: '{text}'; can't understand '{term}'");
                }
                value = term[(eq + 1)..];
                if (value.StartsWith('='))
                {
                    value = value[1..];
                }
                (field, equal) = (term[..eq], true);
            }
            field = field.Trim();
            if (!allowed.Contains(field))
            {
                throw ApiException.BadRequest($"field label not supported: {field}");
            }
            sel._terms.Add((field, equal, value.Trim()));
        }
        return sel;
    }

    public bool Matches(JsonObject obj)
    {
        foreach (var (field, equal, value) in _terms)
        {
            var actual = Value(obj, field);
            if ((actual == value) != equal)
            {
                return false;
            }
        }
        return true;
    }

    private static string Value(JsonObject obj, string field)
    {
        if (field == "source")
        {
            return Json.Str(obj, "source", "component") ?? "";
        }
        var node = Json.At(obj, field.Split('.'));
        return node switch
        {
            null => "",
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
            _ => node.ToJsonString(),
        };
    }
}
