using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Hosting;
using KubeEmulator.Rbac;
using KubeEmulator.Storage;
using Microsoft.AspNetCore.Http;

namespace KubeEmulator.Http;

/// <summary>
/// /api/** and /apis/**: discovery, and every verb on every served resource, after authorization (RBAC),
/// fault injection and request logging.
/// </summary>
internal sealed class ResourceHandler(ApiServerCore core)
{
    public async Task HandleAsync(HttpContext ctx)
    {
        var user = (UserInfo)ctx.Items[typeof(UserInfo)]!;
        var path = ctx.Request.Path.Value ?? "/";
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToList();
        // Discovery and unknown paths are logged with the HTTP method and the path as the "resource".
        var record = new RequestRecord(ctx.Request.Method.ToLowerInvariant(), "", path, null, null, null, user.Name, 0, core.Time.GetUtcNow());
        try
        {
            if (await TryDiscoveryAsync(ctx, user, path, segments))
            {
                record = record with { StatusCode = ctx.Response.StatusCode };
                return;
            }
            var legacy = segments[0] == "api";
            var group = legacy ? "" : segments.Count > 1 ? segments[1] : "";
            var version = legacy ? segments[1] : segments.Count > 2 ? segments[2] : "";
            var rest = segments.Skip(legacy ? 2 : 3).ToList();
            var parsed = ApiRequest.ParseRest(rest) ?? throw ApiException.NotFoundPath(path);
            var t = core.Registry.Find(group, version, parsed.Resource) ?? throw ApiException.NotFoundPath(path);
            var watch = parsed.WatchPath || ctx.Request.Query["watch"] is var w && (w == "true" || w == "1");
            var verb = ApiRequest.VerbFor(ctx.Request.Method, parsed.Name, watch);
            if (parsed.Subresource is not null && verb is "get" && parsed.Subresource is not ("status" or "log"))
            {
                throw ApiException.NotFoundPath(path);
            }
            var ns = t.Namespaced ? parsed.Namespace : null;
            if (!t.Namespaced && parsed.Namespace is not null)
            {
                throw ApiException.NotFoundPath(path);
            }
            record = record with { Verb = verb, Group = t.Group, Resource = t.Resource, Subresource = parsed.Subresource, Namespace = ns, Name = parsed.Name };
            var access = new AccessAttributes(verb, t.Group, t.Resource, parsed.Subresource, ns, parsed.Name);
            if (!core.Authorizer.Allowed(user, access))
            {
                throw ApiException.Forbidden(RbacAuthorizer.ForbiddenMessage(user, access), t, parsed.Name);
            }
            var (delay, fault) = core.Faults.Decide(verb, t.Group, t.Resource);
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, core.Time, ctx.RequestAborted);
            }
            if (fault is not null)
            {
                throw fault;
            }
            await DispatchAsync(ctx, t, ns, parsed.Name, parsed.Subresource, verb, user);
            record = record with { StatusCode = ctx.Response.StatusCode };
        }
        catch (ApiException e)
        {
            record = record with { StatusCode = e.Code };
            if (!ctx.Response.HasStarted)
            {
                await HttpIo.WriteErrorAsync(ctx, e);
            }
        }
        finally
        {
            core.Requests.Record(record);
        }
    }

    private async Task<bool> TryDiscoveryAsync(HttpContext ctx, UserInfo user, string path, List<string> s)
    {
        var legacy = s.Count > 0 && s[0] == "api";
        var isDiscovery = legacy ? s.Count <= 2 : s.Count <= 3;
        if (!isDiscovery)
        {
            return false;
        }
        if (ctx.Request.Method != "GET")
        {
            throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({ctx.Request.Method} {path})");
        }
        var access = new AccessAttributes("get", "", "", null, null, null, path);
        if (!core.Authorizer.Allowed(user, access))
        {
            throw ApiException.Forbidden(RbacAuthorizer.ForbiddenMessage(user, access));
        }
        JsonObject? doc = (legacy, s.Count) switch
        {
            (true, 1) => Discovery.CoreVersions(core.ServerAddress),
            (true, 2) => s[1] == "v1" ? Discovery.ResourceList(core.Registry, "", "v1") : null,
            (false, 1) => Discovery.GroupList(core.Registry),
            (false, 2) => Discovery.Group(core.Registry, s[1]),
            (false, 3) => Discovery.ResourceList(core.Registry, s[1], s[2]),
            _ => null,
        };
        if (doc is null)
        {
            throw ApiException.NotFoundPath(path);
        }
        await HttpIo.WriteJsonAsync(ctx, 200, doc);
        return true;
    }

    private async Task DispatchAsync(HttpContext ctx, ResourceType t, string? ns, string? name, string? sub, string verb, UserInfo user)
    {
        var q = ctx.Request.Query;
        var opts = new RequestOptions(user, DryRun: q["dryRun"] == "All", FieldManager: q["fieldManager"], Force: q["force"] == "true", FieldValidation: q["fieldValidation"]) { UserAgent = ctx.Request.Headers.UserAgent };
        ctx.Response.OnStarting(() =>
        {
            foreach (var w in opts.Warnings)
            {
                ctx.Response.Headers.Append("Warning", $"299 - \"{w.Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
            }
            return Task.CompletedTask;
        });
        var accept = ctx.Request.Headers.Accept.ToString();
        switch (verb)
        {
            case "watch":
                await core.Watches.StreamAsync(ctx, t, ns, name, core.Stopping);
                return;
            case "list":
                {
                    var result = core.Service.List(t, ns, ListOpts(q), raw: true);
                    var rv = result.Revision.ToString(CultureInfo.InvariantCulture);
                    var stored = result.Stored!;
                    if (TableConverter.Wants(accept))
                    {
                        await HttpIo.WriteJsonAsync(ctx, 200, core.Tables.Convert(t, stored, rv, result.Continue, (string?)q["includeObject"] ?? "Metadata"));
                        return;
                    }
                    var meta = new JsonObject { ["resourceVersion"] = rv };
                    if (result.Continue is not null)
                    {
                        meta["continue"] = result.Continue;
                    }
                    if (result.RemainingItemCount is { } remaining)
                    {
                        meta["remainingItemCount"] = remaining;
                    }
                    await HttpIo.WriteListAsync(ctx, t, meta, stored);
                    return;
                }
            case "get":
                {
                    if (sub == "log")
                    {
                        await core.PodLogs(ctx, ns!, name!);
                        return;
                    }
                    var obj = core.Service.Get(t, ns, name!);
                    if (TableConverter.Wants(accept))
                    {
                        await HttpIo.WriteJsonAsync(ctx, 200, core.Tables.Convert(t, [obj], Json.Str(obj, "metadata", "resourceVersion") ?? "", null, (string?)q["includeObject"] ?? "Metadata"));
                        return;
                    }
                    await HttpIo.WriteJsonAsync(ctx, 200, obj);
                    return;
                }
            case "create":
                {
                    var body = HttpIo.ParseObject(await HttpIo.ReadBodyAsync(ctx), ctx.Request.ContentType);
                    if (name is not null && sub is not null)
                    {
                        await HttpIo.WriteJsonAsync(ctx, 201, core.CreateSubresource(t, ns, name, sub, body, opts));
                        return;
                    }
                    if (name is not null)
                    {
                        throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource");
                    }
                    if (t.Group == "authorization.k8s.io")
                    {
                        await HttpIo.WriteJsonAsync(ctx, 201, core.AccessReview(t, body, user));
                        return;
                    }
                    var created = core.Service.Create(t, ns, body, opts);
                    await HttpIo.WriteJsonAsync(ctx, 201, created);
                    return;
                }
            case "update":
                {
                    var body = HttpIo.ParseObject(await HttpIo.ReadBodyAsync(ctx), ctx.Request.ContentType);
                    await HttpIo.WriteJsonAsync(ctx, 200, core.Service.Update(t, ns, name!, body, sub, opts));
                    return;
                }
            case "patch":
                {
                    var body = await HttpIo.ReadBodyAsync(ctx);
                    var ct = ctx.Request.ContentType ?? "";
                    var existed = core.Service.TryGet(t, ns, name!) is not null;
                    var result = core.Service.Patch(t, ns, name!, ct, body, sub, opts);
                    await HttpIo.WriteJsonAsync(ctx, existed ? 200 : 201, result);
                    return;
                }
            case "delete":
                {
                    var d = await DeleteOptsAsync(ctx);
                    var deleted = core.Service.Delete(t, ns, name!, d, opts);
                    var pending = Json.At(deleted, "metadata", "deletionTimestamp") is not null && core.Service.TryGet(t, ns, name!) is not null;
                    await HttpIo.WriteJsonAsync(ctx, pending ? 202 : 200, deleted);
                    return;
                }
            case "deletecollection":
                {
                    var d = await DeleteOptsAsync(ctx);
                    var items = core.Service.DeleteCollection(t, ns, ListOpts(q), d, opts);
                    var list = new JsonObject { ["kind"] = t.ListKind, ["apiVersion"] = t.ApiVersion, ["metadata"] = new JsonObject { ["resourceVersion"] = core.Store.Revision.ToString(CultureInfo.InvariantCulture) }, ["items"] = new JsonArray(items.Select(i => (JsonNode)i).ToArray()) };
                    await HttpIo.WriteJsonAsync(ctx, 200, list);
                    return;
                }
            default:
                throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({verb})");
        }
    }

    private static ListOptions ListOpts(IQueryCollection q) => new(
        q["labelSelector"], q["fieldSelector"],
        int.TryParse(q["limit"], CultureInfo.InvariantCulture, out var l) ? l : null,
        q["continue"]);

    private static async Task<DeleteOptions> DeleteOptsAsync(HttpContext ctx)
    {
        var q = ctx.Request.Query;
        long? grace = long.TryParse(q["gracePeriodSeconds"], CultureInfo.InvariantCulture, out var g) ? g : null;
        string? policy = q["propagationPolicy"];
        if (q["orphanDependents"] == "true")
        {
            policy ??= "Orphan";
        }
        string? uid = null;
        string? rv = null;
        var body = await HttpIo.ReadBodyAsync(ctx);
        if (body.Length > 0 && HttpIo.ParseObject(body, ctx.Request.ContentType) is { } o)
        {
            grace = Json.Long(o, "gracePeriodSeconds") ?? grace;
            policy = Json.Str(o, "propagationPolicy") ?? policy;
            if (Json.At(o, "orphanDependents") is JsonValue ov && ov.TryGetValue<bool>(out var orphan))
            {
                policy ??= orphan ? "Orphan" : "Background";
            }
            uid = Json.Str(o, "preconditions", "uid");
            rv = Json.Str(o, "preconditions", "resourceVersion");
        }
        return new DeleteOptions(grace, policy, uid, rv);
    }
}
