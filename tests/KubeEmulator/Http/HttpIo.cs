using System.Text;
using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Patching;
using Microsoft.AspNetCore.Http;

namespace KubeEmulator.Http;

/// <summary>Reading request bodies and writing JSON answers.</summary>
internal static class HttpIo
{
    public static async Task WriteJsonAsync(HttpContext ctx, int code, JsonNode body)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "application/json";
        var bytes = Json.ToUtf8(body);
        ctx.Response.ContentLength = bytes.Length;
        await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted);
    }

    /// <summary>A list response streamed from the stored objects' cached bytes (no per-request copies).</summary>
    public static async Task WriteListAsync(HttpContext ctx, ResourceType t, JsonObject meta, IReadOnlyList<JsonObject> stored)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        var body = ctx.Response.Body;
        var ct = ctx.RequestAborted;
        await body.WriteAsync(Encoding.UTF8.GetBytes($"{{\"kind\":\"{t.ListKind}\",\"apiVersion\":\"{t.ApiVersion}\",\"metadata\":"), ct);
        await body.WriteAsync(Json.ToUtf8(meta), ct);
        await body.WriteAsync(",\"items\":["u8.ToArray(), ct);
        for (var i = 0; i < stored.Count; i++)
        {
            if (i > 0)
            {
                await body.WriteAsync(","u8.ToArray(), ct);
            }
            var o = stored[i];
            // Items of another stored CRD version are re-labelled (conversion strategy None).
            var bytes = Json.Str(o, "apiVersion") == t.ApiVersion ? Storage.SerializedObjects.Of(o) : Json.ToUtf8(Storage.ResourceService.AsVersion(t, o));
            await body.WriteAsync(bytes, ct);
        }
        await body.WriteAsync("]}"u8.ToArray(), ct);
    }

    public static Task WriteErrorAsync(HttpContext ctx, ApiException e)
    {
        if (e.RetryAfterSeconds is { } ra)
        {
            ctx.Response.Headers.RetryAfter = ra.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return WriteJsonAsync(ctx, e.Code, e.ToStatus());
    }

    public static async Task<byte[]> ReadBodyAsync(HttpContext ctx)
    {
        using var ms = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted);
        return ms.ToArray();
    }

    /// <summary>A POST/PUT body: JSON, or YAML when the client says so.</summary>
    public static JsonObject ParseObject(byte[] body, string? contentType)
    {
        if (body.Length == 0)
        {
            throw ApiException.BadRequest("the request body is empty");
        }
        var ct = (contentType ?? "application/json").Split(';')[0].Trim();
        JsonNode? node = ct is "application/yaml" or "application/x-yaml" ? YamlJson.Parse(Encoding.UTF8.GetString(body))
            : ct == "application/vnd.kubernetes.protobuf" ? ProtobufBodies.Decode(body)
            : Json.Parse(body);
        return node as JsonObject ?? throw ApiException.BadRequest("the request body must be a JSON object");
    }
}
