using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeEmulator.Api;

namespace KubeEmulator.Http;

/// <summary>The legacy discovery documents (/api, /apis, /apis/g, /apis/g/v, /api/v1) built from the registry.</summary>
internal static partial class Discovery
{
    [GeneratedRegex("^v(\\d+)(?:(alpha|beta)(\\d+))?$")]
    private static partial Regex KubeVersion();

    public static JsonObject CoreVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = Json.StringArray(["v1"]),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    public static JsonObject GroupList(ResourceRegistry registry)
    {
        var groups = new JsonArray();
        foreach (var g in Groups(registry))
        {
            groups.Add(Group(registry, g));
        }
        return new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
    }

    public static JsonObject? Group(ResourceRegistry registry, string group)
    {
        var versions = Versions(registry, group);
        if (versions.Count == 0)
        {
            return null;
        }
        var list = new JsonArray();
        foreach (var v in versions)
        {
            list.Add(new JsonObject { ["groupVersion"] = $"{group}/{v}", ["version"] = v });
        }
        return new JsonObject
        {
            ["kind"] = "APIGroup",
            ["apiVersion"] = "v1",
            ["name"] = group,
            ["versions"] = list,
            ["preferredVersion"] = new JsonObject { ["groupVersion"] = $"{group}/{versions[0]}", ["version"] = versions[0] },
        };
    }

    public static JsonObject? ResourceList(ResourceRegistry registry, string group, string version)
    {
        var types = registry.All.Where(t => t.Group == group && t.Version == version).OrderBy(t => t.Resource, StringComparer.Ordinal).ToList();
        if (types.Count == 0)
        {
            return null;
        }
        var resources = new JsonArray();
        foreach (var t in types)
        {
            var r = new JsonObject
            {
                ["name"] = t.Resource,
                ["singularName"] = t.Singular,
                ["namespaced"] = t.Namespaced,
                ["kind"] = t.Kind,
                ["verbs"] = Json.StringArray(t.Verbs),
            };
            if (t.ShortNames.Count > 0)
            {
                r["shortNames"] = Json.StringArray(t.ShortNames);
            }
            if (t.Categories.Count > 0)
            {
                r["categories"] = Json.StringArray(t.Categories);
            }
            r["storageVersionHash"] = Convert.ToBase64String(BitConverter.GetBytes(StringComparer.Ordinal.GetHashCode(t.GroupResource)));
            resources.Add(r);
            if (t.HasStatus)
            {
                resources.Add(new JsonObject { ["name"] = t.Resource + "/status", ["singularName"] = "", ["namespaced"] = t.Namespaced, ["kind"] = t.Kind, ["verbs"] = Json.StringArray(["get", "patch", "update"]) });
            }
            if (t.GroupResource == "pods")
            {
                resources.Add(new JsonObject { ["name"] = "pods/log", ["singularName"] = "", ["namespaced"] = true, ["kind"] = "Pod", ["verbs"] = Json.StringArray(["get"]) });
                resources.Add(new JsonObject { ["name"] = "pods/eviction", ["singularName"] = "", ["namespaced"] = true, ["group"] = "policy", ["version"] = "v1", ["kind"] = "Eviction", ["verbs"] = Json.StringArray(["create"]) });
            }
            if (t.GroupResource == "serviceaccounts")
            {
                resources.Add(new JsonObject { ["name"] = "serviceaccounts/token", ["singularName"] = "", ["namespaced"] = true, ["group"] = "authentication.k8s.io", ["version"] = "v1", ["kind"] = "TokenRequest", ["verbs"] = Json.StringArray(["create"]) });
            }
        }
        return new JsonObject { ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}", ["resources"] = resources };
    }

    public static List<string> Groups(ResourceRegistry registry) =>
        registry.All.Select(t => t.Group).Where(g => g.Length > 0).Distinct().ToList();

    /// <summary>Versions of a group, most preferred first (GA over beta over alpha, higher numbers first).</summary>
    public static List<string> Versions(ResourceRegistry registry, string group) =>
        registry.All.Where(t => t.Group == group).Select(t => t.Version).Distinct().OrderByDescending(Priority).ThenBy(v => v, StringComparer.Ordinal).ToList();

    private static long Priority(string v)
    {
        var m = KubeVersion().Match(v);
        if (!m.Success)
        {
            return 0;
        }
        var major = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var stage = m.Groups[2].Value switch { "" => 3, "beta" => 2, _ => 1 };
        var minor = m.Groups[3].Success ? long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture) : 0;
        return stage * 1_000_000 + major * 1000 + minor;
    }
}
