using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Selectors;
using KubeEmulator.Storage;
using KubeEmulator.Watch;
using Microsoft.AspNetCore.Http;

namespace KubeEmulator.Http;

/// <summary>
/// Serves ?watch=true: newline-delimited {"type","object"} events from a resourceVersion, initial ADDED events
/// when none (or "0") is given, BOOKMARKs when allowed, an ERROR event with a 410 Expired Status when the version
/// is older than the kept history (as the real watch cache answers), and server-side closing after timeoutSeconds.
/// </summary>
internal sealed class WatchStreamer(ObjectStore store, FaultInjector faults, TableConverter tables, TimeSpan bookmarkInterval, TimeProvider time)
{
    private static readonly byte[] Newline = "\n"u8.ToArray();

    public async Task StreamAsync(HttpContext ctx, ResourceType t, string? ns, string? name, CancellationToken stopping)
    {
        var q = ctx.Request.Query;
        var labels = LabelSelector.Parse(q["labelSelector"]);
        var fieldText = (string?)q["fieldSelector"];
        if (name is not null)
        {
            fieldText = string.IsNullOrEmpty(fieldText) ? $"metadata.name={name}" : $"{fieldText},metadata.name={name}";
        }
        var fields = FieldSelector.Parse(fieldText, t);
        var rvText = (string?)q["resourceVersion"];
        var bookmarks = q["allowWatchBookmarks"] == "true";
        var sendInitial = q["sendInitialEvents"] == "true";
        var asTable = TableConverter.Wants(ctx.Request.Headers.Accept);
        var includeObject = (string?)q["includeObject"] ?? "Metadata";
        var timeout = long.TryParse(q["timeoutSeconds"], CultureInfo.InvariantCulture, out var ts) && ts > 0 ? TimeSpan.FromSeconds(ts) : TimeSpan.FromMinutes(30);
        var gr = t.GroupResource;
        var watchNs = t.Namespaced ? ns : null;
        bool InScope(WatchEvent e) => e.GroupResource == gr && (watchNs is null || e.Namespace == watchNs);
        bool Matches(JsonObject? o) => o is not null && labels.Matches(o) && fields.Matches(o);

        if (!string.IsNullOrEmpty(rvText) && !long.TryParse(rvText, CultureInfo.InvariantCulture, out _))
        {
            throw ApiException.BadRequest($"invalid resource version \"{rvText}\"");
        }
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.Headers.CacheControl = "no-cache, private";
        await ctx.Response.StartAsync(ctx.RequestAborted);

        if (faults.TakeForcedGone(t.Resource) || faults.TakeForcedGone(gr))
        {
            await WriteErrorAsync(ctx, ApiException.Gone($"too old resource version: {rvText} (forced by fault injection)"));
            return;
        }

        WatchSubscription sub;
        List<JsonObject> initial = [];
        long startRv;
        try
        {
            lock (store.Sync)
            {
                if (string.IsNullOrEmpty(rvText) || rvText == "0" || sendInitial)
                {
                    initial = store.List(gr, watchNs).Select(kv => kv.Value).Where(Matches).ToList();
                    startRv = store.Revision;
                }
                else if (!long.TryParse(rvText, CultureInfo.InvariantCulture, out startRv))
                {
                    throw ApiException.BadRequest($"invalid resource version \"{rvText}\"");
                }
                sub = store.Hub.Subscribe(startRv, store.Revision, InScope);
                sub.ClientResource = gr;
            }
        }
        catch (ApiException e)
        {
            await WriteErrorAsync(ctx, e);
            return;
        }

        using (sub)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
            cts.CancelAfter(timeout);
            var ct = cts.Token;
            var lastRv = startRv;
            try
            {
                foreach (var o in initial)
                {
                    await WriteEventAsync(ctx, t, "ADDED", o, null, asTable, includeObject, ct);
                }
                if (sendInitial && bookmarks)
                {
                    await WriteBookmarkAsync(ctx, t, startRv, initialEnd: true, ct);
                }
                await ctx.Response.Body.FlushAsync(ct);
                var reader = sub.Events;
                Task<bool>? waitTask = null;
                while (!ct.IsCancellationRequested)
                {
                    // One pending wait at a time: the channel has a single reader.
                    waitTask ??= reader.WaitToReadAsync(ct).AsTask();
                    if (bookmarks)
                    {
                        var done = await Task.WhenAny(waitTask, Task.Delay(bookmarkInterval, time, ct));
                        if (done != waitTask)
                        {
                            long bookmarkRv;
                            lock (store.Sync)
                            {
                                bookmarkRv = reader.Count == 0 ? store.Revision : lastRv;
                            }
                            await WriteBookmarkAsync(ctx, t, bookmarkRv, false, ct);
                            await ctx.Response.Body.FlushAsync(ct);
                            continue;
                        }
                    }
                    var more = await waitTask;
                    waitTask = null;
                    if (!more)
                    {
                        break;
                    }
                    while (reader.TryRead(out var e))
                    {
                        lastRv = e.Revision;
                        var nowMatch = e.Type != "DELETED" && Matches(e.Object);
                        var wasMatch = Matches(e.Previous);
                        string? type = e.Type switch
                        {
                            "ADDED" => nowMatch ? "ADDED" : null,
                            "MODIFIED" when nowMatch && wasMatch => "MODIFIED",
                            "MODIFIED" when nowMatch => "ADDED",
                            "MODIFIED" when wasMatch => "DELETED",
                            "DELETED" => Matches(e.Object) || wasMatch ? "DELETED" : null,
                            _ => null,
                        };
                        if (type is not null)
                        {
                            await WriteEventAsync(ctx, t, type, e.Object, e, asTable, includeObject, ct);
                        }
                    }
                    await ctx.Response.Body.FlushAsync(ct);
                }
            }
            catch (OperationCanceledException)
            {
                // Timeout, shutdown, or the client went away: end the stream, as the real server does.
            }
            catch (IOException)
            {
                // The client disconnected mid-write.
            }

        }
    }

    private async Task WriteEventAsync(HttpContext ctx, ResourceType t, string type, JsonObject obj, WatchEvent? e, bool asTable, string includeObject, CancellationToken ct)
    {
        var head = Encoding.UTF8.GetBytes($"{{\"type\":\"{type}\",\"object\":");
        byte[] body;
        if (asTable)
        {
            var v = ResourceService.AsVersion(t, obj);
            body = Json.ToUtf8(tables.Convert(t, [v], Json.Str(v, "metadata", "resourceVersion") ?? "", null, includeObject));
        }
        else if (e is not null && Json.Str(obj, "apiVersion") == t.ApiVersion && Json.Str(obj, "kind") == t.Kind)
        {
            body = e.ObjectUtf8;
        }
        else
        {
            body = Json.ToUtf8(ResourceService.AsVersion(t, obj));
        }
        await ctx.Response.Body.WriteAsync(head, ct);
        await ctx.Response.Body.WriteAsync(body, ct);
        await ctx.Response.Body.WriteAsync("}"u8.ToArray(), ct);
        await ctx.Response.Body.WriteAsync(Newline, ct);
    }

    private static async Task WriteBookmarkAsync(HttpContext ctx, ResourceType t, long rv, bool initialEnd, CancellationToken ct)
    {
        var meta = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture), ["creationTimestamp"] = null };
        if (initialEnd)
        {
            meta["annotations"] = new JsonObject { ["k8s.io/initial-events-end"] = "true" };
        }
        var ev = new JsonObject { ["type"] = "BOOKMARK", ["object"] = new JsonObject { ["kind"] = t.Kind, ["apiVersion"] = t.ApiVersion, ["metadata"] = meta } };
        await ctx.Response.Body.WriteAsync(Json.ToUtf8(ev), ct);
        await ctx.Response.Body.WriteAsync(Newline, ct);
    }

    private static async Task WriteErrorAsync(HttpContext ctx, ApiException e)
    {
        var ev = new JsonObject { ["type"] = "ERROR", ["object"] = e.ToStatus() };
        await ctx.Response.Body.WriteAsync(Json.ToUtf8(ev), ctx.RequestAborted);
        await ctx.Response.Body.WriteAsync(Newline, ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }
}
