using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KubeEmulator.Http;

/// <summary>
/// Minimal OpenAPI v3 documents: the root index and, per group-version, the PATCH operations with their
/// x-kubernetes-group-version-kind and query parameters. That is what kubectl (1.27+) reads to decide that the
/// server validates fields itself (fieldValidation=Strict), so `kubectl apply` works without --validate=false.
/// Component schemas are served for custom resources only; /openapi/v2 is not served (kubectl falls back to its
/// compiled-in types for strategic merge patches of built-ins, and to JSON merge patches for custom resources).
/// </summary>
internal static class OpenApi
{
    public static void Map(WebApplication app, ApiServerCore core)
    {
        app.MapGet("/openapi/v2", (HttpContext ctx) => HttpIo.WriteErrorAsync(ctx, ApiException.NotFoundPath("/openapi/v2")));
        app.MapGet("/openapi/v3", (HttpContext ctx) => HttpIo.WriteJsonAsync(ctx, 200, Root(core.Registry)));
        app.MapGet("/openapi/v3/{**gv}", (HttpContext ctx, string gv) =>
        {
            var doc = GroupVersion(core.Registry, gv.Trim('/'));
            return doc is null ? HttpIo.WriteErrorAsync(ctx, ApiException.NotFoundPath(ctx.Request.Path)) : HttpIo.WriteJsonAsync(ctx, 200, doc);
        });
    }

    private static JsonObject Root(ResourceRegistry registry)
    {
        var paths = new JsonObject();
        foreach (var gv in registry.All.Select(t => (t.Group, t.Version)).Distinct())
        {
            var key = gv.Group.Length == 0 ? $"api/{gv.Version}" : $"apis/{gv.Group}/{gv.Version}";
            var hash = Hash(registry, gv.Group, gv.Version);
            paths[key] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{key}?hash={hash}" };
        }
        return new JsonObject { ["paths"] = paths };
    }

    private static string Hash(ResourceRegistry registry, string group, string version)
    {
        var text = string.Join("|", registry.All.Where(t => t.Group == group && t.Version == version).Select(t => t.Resource + (t.Custom?.Schema?.ToJsonString() ?? "")));
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..32];
    }

    private static JsonObject? GroupVersion(ResourceRegistry registry, string key)
    {
        var parts = key.Split('/');
        (string group, string version) = parts switch
        {
        ["api", var v] => ("", v),
        ["apis", var g, var v] => (g, v),
            _ => ("\0", ""),
        };
        var types = registry.All.Where(t => t.Group == group && t.Version == version).ToList();
        if (types.Count == 0)
        {
            return null;
        }
        var paths = new JsonObject();
        var schemas = new JsonObject();
        foreach (var t in types)
        {
            var prefix = group.Length == 0 ? $"/api/{version}" : $"/apis/{group}/{version}";
            var item = t.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{t.Resource}/{{name}}" : $"{prefix}/{t.Resource}/{{name}}";
            paths[item] = new JsonObject { ["patch"] = PatchOperation(t) };
            if (t.HasStatus)
            {
                paths[item + "/status"] = new JsonObject { ["patch"] = PatchOperation(t) };
            }
            if (t.Custom?.Schema is { } schema)
            {
                var s = (JsonObject)schema.DeepClone();
                s["x-kubernetes-group-version-kind"] = new JsonArray(Gvk(t));
                schemas[$"{ReverseDomain(t.Group)}.{t.Version}.{t.Kind}"] = s;
            }
        }
        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes (kube-emulator)", ["version"] = $"v{VersionInfo.Major}.{VersionInfo.Minor}.0" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }

    private static JsonObject PatchOperation(ResourceType t)
    {
        var content = new JsonObject
        {
            ["application/json-patch+json"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } },
            ["application/merge-patch+json"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } },
            ["application/apply-patch+yaml"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } },
        };
        var parameters = new JsonArray();
        foreach (var p in new[] { "dryRun", "fieldManager", "fieldValidation", "force" })
        {
            parameters.Add(new JsonObject { ["name"] = p, ["in"] = "query", ["schema"] = new JsonObject { ["type"] = p == "force" ? "boolean" : "string", ["uniqueItems"] = true } });
        }
        return new JsonObject
        {
            ["tags"] = new JsonArray(t.Group.Length == 0 ? "core_v1" : $"{t.Group}_{t.Version}"),
            ["operationId"] = $"patch{t.Kind}",
            ["parameters"] = parameters,
            ["requestBody"] = new JsonObject { ["content"] = content, ["required"] = true },
            ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
            ["x-kubernetes-action"] = "patch",
            ["x-kubernetes-group-version-kind"] = Gvk(t),
        };
    }

    private static JsonObject Gvk(ResourceType t) => new() { ["group"] = t.Group, ["version"] = t.Version, ["kind"] = t.Kind };

    private static string ReverseDomain(string group) => group.Length == 0 ? "io.k8s.api.core" : string.Join('.', group.Split('.').Reverse());
}
