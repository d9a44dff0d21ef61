using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Hosting;
using KubeEmulator.Rbac;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KubeEmulator.Http;

/// <summary>
/// /emulator/*: control of the running emulator for out-of-process users (the executable), admin token only:
/// GET/POST/DELETE /emulator/faults, GET/DELETE /emulator/requests. Not part of the Kubernetes API.
/// </summary>
internal static class EmulatorControl
{
    public static void Map(WebApplication app, ApiServerCore core)
    {
        app.MapGet("/emulator/faults", (HttpContext ctx) => Admin(ctx, () => HttpIo.WriteJsonAsync(ctx, 200, new JsonObject { ["rules"] = new JsonArray(core.Faults.Rules.Select(Describe).ToArray()) })));
        app.MapDelete("/emulator/faults", (HttpContext ctx) => Admin(ctx, () =>
        {
            core.Faults.Clear();
            return HttpIo.WriteJsonAsync(ctx, 200, new JsonObject { ["cleared"] = true });
        }));
        app.MapPost("/emulator/faults", (HttpContext ctx) => Admin(ctx, async () =>
        {
            var body = HttpIo.ParseObject(await HttpIo.ReadBodyAsync(ctx), ctx.Request.ContentType);
            await HttpIo.WriteJsonAsync(ctx, 200, Apply(core.Faults, body));
        }));
        app.MapGet("/emulator/requests", (HttpContext ctx) => Admin(ctx, () =>
        {
            var counts = new JsonArray(core.Requests.Counts.OrderBy(kv => kv.Key.Resource, StringComparer.Ordinal).ThenBy(kv => kv.Key.Verb, StringComparer.Ordinal)
                .Select(kv => (JsonNode)new JsonObject { ["verb"] = kv.Key.Verb, ["resource"] = kv.Key.Resource, ["user"] = kv.Key.User, ["count"] = kv.Value }).ToArray());
            return HttpIo.WriteJsonAsync(ctx, 200, new JsonObject { ["counts"] = counts });
        }));
        app.MapDelete("/emulator/requests", (HttpContext ctx) => Admin(ctx, () =>
        {
            core.Requests.Clear();
            return HttpIo.WriteJsonAsync(ctx, 200, new JsonObject { ["cleared"] = true });
        }));
    }

    private static Task Admin(HttpContext ctx, Func<Task> action)
    {
        var user = (UserInfo)ctx.Items[typeof(UserInfo)]!;
        return user.IsAdmin ? action() : HttpIo.WriteErrorAsync(ctx, ApiException.Forbidden($"forbidden: User \"{user.Name}\" cannot use the emulator's control endpoints"));
    }

    /// <summary>One fault from JSON: {"type":"error","rate":0.1,"code":503,"verb":"update","resource":"pods","retryAfterSeconds":2,"count":3} etc.</summary>
    public static JsonObject Apply(FaultInjector faults, JsonObject spec)
    {
        var type = Json.Str(spec, "type") ?? throw ApiException.BadRequest("fault: \"type\" is required (error, latency, conflicts, dropWatches, gone)");
        var verb = Json.Str(spec, "verb");
        var resource = Json.Str(spec, "resource");
        var count = (int?)Json.Long(spec, "count");
        try
        {
            switch (type)
            {
                case "error":
                    {
                        var code = (int)(Json.Long(spec, "code") ?? 500);
                        var retry = (int)(Json.Long(spec, "retryAfterSeconds") ?? 1);
                        var rule = count is { } n
                            ? faults.FailNext(n, code, verb, resource, retry)
                            : faults.AddErrorRate(spec["rate"] is JsonValue r && Json.Double(r) is { } d ? d : throw ApiException.BadRequest("fault error: \"rate\" (0..1) or \"count\" is required"), code, verb, resource, retry);
                        return Describe(rule)!.AsObject();
                    }
                case "latency":
                    return Describe(faults.AddLatency(TimeSpan.FromMilliseconds(Json.Long(spec, "milliseconds") ?? throw ApiException.BadRequest("fault latency: \"milliseconds\" is required")), verb, resource))!.AsObject();
                case "conflicts":
                    return Describe(faults.ConflictStorm(count ?? throw ApiException.BadRequest("fault conflicts: \"count\" is required"), resource))!.AsObject();
                case "dropWatches":
                    return new JsonObject { ["dropped"] = faults.DropWatches(resource) };
                case "gone":
                    faults.ForceGoneOnNextWatches(count ?? 1, resource);
                    return new JsonObject { ["gone"] = count ?? 1 };
                default:
                    throw ApiException.BadRequest($"fault: unknown type \"{type}\" (error, latency, conflicts, dropWatches, gone)");
            }
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw ApiException.BadRequest("fault: " + e.Message);
        }
    }

    private static JsonNode? Describe(FaultRule r) => new JsonObject
    {
        ["verb"] = r.Verb,
        ["resource"] = r.Resource,
        ["rate"] = r.Rate,
        ["code"] = r.StatusCode,
        ["latencyMilliseconds"] = r.Latency.TotalMilliseconds.ToString(CultureInfo.InvariantCulture),
        ["remaining"] = r.Remaining,
        ["hits"] = r.Hits,
    };
}
