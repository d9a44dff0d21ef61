using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Storage;

namespace KubeEmulator.Rbac;

/// <summary>What a request asks to do, in RBAC's terms.</summary>
internal sealed record AccessAttributes(string Verb, string Group, string Resource, string? Subresource, string? Namespace, string? Name, string? NonResourcePath = null);

/// <summary>
/// RBAC evaluated from the stored Roles, ClusterRoles and their bindings, like the real authorizer: a request is
/// allowed when any rule bound to the user, one of its groups, or its ServiceAccount matches. Every authenticated
/// user may read discovery (/api, /apis, /version, /openapi), as system:discovery grants in a real cluster.
/// </summary>
internal sealed class RbacAuthorizer(ObjectStore store)
{
    private const string RbacGroup = "rbac.authorization.k8s.io";

    public bool Allowed(UserInfo user, AccessAttributes a)
    {
        if (user.IsAdmin)
        {
            return true;
        }
        if (a.NonResourcePath is { } path && a.Verb == "get" && IsPublic(path))
        {
            return true;
        }
        if (a.Group == "authorization.k8s.io" && a.Resource is "selfsubjectaccessreviews" or "selfsubjectrulesreviews" && a.Verb == "create")
        {
            // system:basic-user, bound to every authenticated user in a real cluster.
            return true;
        }
        lock (store.Sync)
        {
            foreach (var (_, crb) in store.List("clusterrolebindings." + RbacGroup, null))
            {
                if (Binds(crb, user) && RulesOf(crb, null).Any(r => Matches(r, a)))
                {
                    return true;
                }
            }
            if (a.Namespace is not null)
            {
                foreach (var (_, rb) in store.List("rolebindings." + RbacGroup, a.Namespace))
                {
                    if (Binds(rb, user) && RulesOf(rb, a.Namespace).Any(r => Matches(r, a)))
                    {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /// <summary>The standard message: 'pods "x" is forbidden: User "u" cannot get resource "pods" in API group "" in the namespace "n"'.</summary>
    public static string ForbiddenMessage(UserInfo user, AccessAttributes a)
    {
        if (a.NonResourcePath is not null)
        {
            return $"forbidden: User \"{user.Name}\" cannot {a.Verb} path \"{a.NonResourcePath}\"";
        }
        var gr = a.Group.Length == 0 ? a.Resource : $"{a.Resource}.{a.Group}";
        var what = a.Name is null ? gr : $"{gr} \"{a.Name}\"";
        var res = a.Subresource is null ? a.Resource : $"{a.Resource}/{a.Subresource}";
        var where = a.Namespace is null ? "at the cluster scope" : $"in the namespace \"{a.Namespace}\"";
        return $"{what} is forbidden: User \"{user.Name}\" cannot {a.Verb} resource \"{res}\" in API group \"{a.Group}\" {where}";
    }

    private static bool IsPublic(string path) =>
        path is "/api" or "/apis" or "/version" or "/healthz" or "/livez" or "/readyz" || path.StartsWith("/api/", StringComparison.Ordinal) || path.StartsWith("/apis/", StringComparison.Ordinal) || path.StartsWith("/openapi", StringComparison.Ordinal);

    private static bool Binds(JsonObject binding, UserInfo user)
    {
        foreach (var s in (binding["subjects"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var kind = Json.Str(s, "kind");
            var name = Json.Str(s, "name");
            switch (kind)
            {
                case "User" when name == user.Name:
                case "Group" when name is not null && user.Groups.Contains(name):
                    return true;
                case "ServiceAccount" when user.Name == $"system:serviceaccount:{Json.Str(s, "namespace") ?? Json.Str(binding, "metadata", "namespace")}:{name}":
                    return true;
            }
        }
        return false;
    }

    private IEnumerable<JsonObject> RulesOf(JsonObject binding, string? ns)
    {
        var kind = Json.Str(binding, "roleRef", "kind");
        var name = Json.Str(binding, "roleRef", "name") ?? "";
        var role = kind switch
        {
            "ClusterRole" => store.Get("clusterroles." + RbacGroup, null, name),
            "Role" when ns is not null => store.Get("roles." + RbacGroup, ns, name),
            _ => null,
        };
        if (role is null)
        {
            return [];
        }
        var rules = (role["rules"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        if (kind == "ClusterRole" && role["aggregationRule"] is JsonObject agg)
        {
            rules.AddRange(AggregatedRules(agg));
        }
        return rules;
    }

    /// <summary>Aggregated ClusterRoles: the rules of every ClusterRole whose labels match a selector.</summary>
    private IEnumerable<JsonObject> AggregatedRules(JsonObject agg)
    {
        foreach (var sel in (agg["clusterRoleSelectors"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var want = (sel["matchLabels"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString()) ?? [];
            foreach (var (_, cr) in store.List("clusterroles." + RbacGroup, null))
            {
                var labels = Json.At(cr, "metadata", "labels") as JsonObject;
                if (want.Count > 0 && want.All(w => labels?[w.Key]?.ToString() == w.Value))
                {
                    foreach (var r in (cr["rules"] as JsonArray)?.OfType<JsonObject>() ?? [])
                    {
                        yield return r;
                    }
                }
            }
        }
    }

    private static bool Matches(JsonObject rule, AccessAttributes a)
    {
        var verbs = Json.Strings(rule["verbs"]).ToList();
        if (!verbs.Contains("*") && !verbs.Contains(a.Verb))
        {
            return false;
        }
        if (a.NonResourcePath is { } path)
        {
            return Json.Strings(rule["nonResourceURLs"]).Any(u => u == "*" || u == path || u.EndsWith('*') && path.StartsWith(u[..^1], StringComparison.Ordinal));
        }
        var groups = Json.Strings(rule["apiGroups"]).ToList();
        if (!groups.Contains("*") && !groups.Contains(a.Group))
        {
            return false;
        }
        var full = a.Subresource is null ? a.Resource : $"{a.Resource}/{a.Subresource}";
        var resources = Json.Strings(rule["resources"]).ToList();
        var resourceOk = resources.Any(r => r == "*" || r == full || a.Subresource is not null && r == "*/" + a.Subresource || a.Subresource is null && r == a.Resource);
        if (!resourceOk)
        {
            return false;
        }
        var names = Json.Strings(rule["resourceNames"]).ToList();
        return names.Count == 0 || a.Name is not null && names.Contains(a.Name);
    }
}
