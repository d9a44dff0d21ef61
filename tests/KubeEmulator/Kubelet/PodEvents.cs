using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Hosting;

namespace KubeEmulator.KubeletRuntime;

/// <summary>core/v1 Events about a pod, as the scheduler and kubelet record them (what `kubectl describe pod` shows).</summary>
internal static class PodEvents
{
    public static void Record(ApiServerCore core, JsonObject pod, string type, string reason, string message, string component = "kubelet")
    {
        var ns = Json.Str(pod, "metadata", "namespace")!;
        var name = Json.Str(pod, "metadata", "name")!;
        var now = Json.Timestamp(core.Time.GetUtcNow());
        var ev = new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = EventName(name, $"{core.Time.GetUtcNow().ToUnixTimeMilliseconds().ToString("x", CultureInfo.InvariantCulture)}{Random.Shared.Next(0x1000):x3}"), ["namespace"] = ns },
            ["involvedObject"] = new JsonObject
            {
                ["kind"] = "Pod",
                ["namespace"] = ns,
                ["name"] = name,
                ["uid"] = Json.Str(pod, "metadata", "uid"),
                ["apiVersion"] = "v1",
                ["resourceVersion"] = Json.Str(pod, "metadata", "resourceVersion"),
            },
            ["reason"] = reason,
            ["message"] = message,
            ["source"] = new JsonObject { ["component"] = component, ["host"] = component == "kubelet" ? core.Options.NodeName : null },
            ["firstTimestamp"] = now,
            ["lastTimestamp"] = now,
            ["count"] = 1,
            ["type"] = type,
            ["reportingComponent"] = component,
            ["reportingInstance"] = component == "kubelet" ? core.Options.NodeName : "",
        };
        try
        {
            core.Service.Create(core.Type("", "events"), ns, ev, RequestOptions.System);
        }
        catch (ApiException)
        {
            // Events are best effort, as in a real cluster (e.g. the namespace is being deleted).
        }
    }

    /// <summary>
    /// NAME.SUFFIX, with the name cut so the whole stays a 253-character DNS subdomain (a pod name may use all 253)
    /// and ends in an alphanumeric, so the Event of a long-named pod is stored rather than refused.
    /// </summary>
    internal static string EventName(string name, string suffix)
    {
        var room = 253 - 1 - suffix.Length;
        return (name.Length <= room ? name : name[..room].TrimEnd('-', '.')) + "." + suffix;
    }
}
