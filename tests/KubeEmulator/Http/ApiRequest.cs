using KubeEmulator.Api;

namespace KubeEmulator.Http;

/// <summary>A request against a resource, parsed from the URL (RequestInfo in the real server).</summary>
internal sealed record ApiRequest(ResourceType Type, string? Namespace, string? Name, string? Subresource, string Verb)
{
    /// <summary>Parses what follows /api/v1 or /apis/group/version. Returns null when the path names no resource.</summary>
    public static (string? Namespace, string Resource, string? Name, string? Subresource, bool WatchPath)? ParseRest(IReadOnlyList<string> s)
    {
        var watch = false;
        if (s.Count > 0 && s[0] == "watch")
        {
            watch = true;
            s = s.Skip(1).ToList();
        }
        if (s.Count == 0)
        {
            return null;
        }
        string? ns = null;
        if (s[0] == "namespaces" && s.Count >= 3 && !(s.Count == 3 && s[2] is "status" or "finalize"))
        {
            ns = s[1];
            s = s.Skip(2).ToList();
        }
        if (s.Count > 3)
        {
            return null;
        }
        return (ns, s[0], s.Count > 1 ? s[1] : null, s.Count > 2 ? s[2] : null, watch);
    }

    public static string VerbFor(string method, string? name, bool watch) => method switch
    {
        "GET" or "HEAD" => watch ? "watch" : name is null ? "list" : "get",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => name is null ? "deletecollection" : "delete",
        _ => method.ToLowerInvariant(),
    };
}
