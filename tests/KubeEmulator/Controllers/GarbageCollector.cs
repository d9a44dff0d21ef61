using System.Text.Json.Nodes;
using KubeEmulator.Api;
using KubeEmulator.Storage;
using KubeEmulator.Watch;

namespace KubeEmulator.Controllers;

/// <summary>
/// The ownerReference garbage collector: deletes dependents whose owners are all gone (background cascade),
/// deletes dependents first and then the owner for foregroundDeletion, and strips owner references for orphan.
/// Like the real one it runs asynchronously after the owner's deletion.
/// </summary>
internal sealed class GarbageCollector(ResourceService service)
{
    private static readonly DeleteOptions Background = new(PropagationPolicy: "Background");

    public void Handle(WatchEvent e)
    {
        var obj = e.Object;
        var uid = Json.Str(obj, "metadata", "uid");
        if (uid is null)
        {
            return;
        }
        if (e.Type == "DELETED")
        {
            foreach (var dep in Dependents(uid))
            {
                CollectIfOrphaned(dep.GroupResource, dep.Object, uid);
            }
            // A dependent of an owner in foreground deletion is gone: the owner may now be finished.
            foreach (var owner in OwnerUids(obj))
            {
                FinishForegroundIfDone(owner);
            }
            return;
        }
        var finalizers = Json.Strings(Json.At(obj, "metadata", "finalizers")).ToList();
        if (Json.At(obj, "metadata", "deletionTimestamp") is not null)
        {
            if (finalizers.Contains(GcFinalizers.Orphan))
            {
                foreach (var dep in Dependents(uid))
                {
                    RemoveOwnerRef(dep.GroupResource, dep.Object, uid);
                }
                RemoveFinalizer(e.GroupResource, obj, GcFinalizers.Orphan);
            }
            else if (finalizers.Contains(GcFinalizers.Foreground))
            {
                foreach (var dep in Dependents(uid))
                {
                    if (Json.At(dep.Object, "metadata", "deletionTimestamp") is null)
                    {
                        Delete(dep.GroupResource, dep.Object, new DeleteOptions(PropagationPolicy: "Foreground"));
                    }
                }
                FinishForegroundIfDone(uid);
            }
            return;
        }
        if (e.Type == "ADDED")
        {
            // Created pointing at owners that no longer exist: collected like the real GC does.
            var owners = OwnerUids(obj).ToList();
            if (owners.Count > 0)
            {
                lock (service.Store.Sync)
                {
                    if (owners.Any(o => service.Store.FindUid(o) is not null))
                    {
                        return;
                    }
                }
                Delete(e.GroupResource, obj, Background);
            }
        }
    }

    private void CollectIfOrphaned(string gr, JsonObject dep, string deletedOwner)
    {
        bool anyOwnerLeft;
        lock (service.Store.Sync)
        {
            anyOwnerLeft = OwnerUids(dep).Any(o => o != deletedOwner && service.Store.FindUid(o) is not null);
        }
        if (anyOwnerLeft)
        {
            RemoveOwnerRef(gr, dep, deletedOwner);
        }
        else
        {
            Delete(gr, dep, Background);
        }
    }

    private void FinishForegroundIfDone(string ownerUid)
    {
        ObjectRef? r;
        JsonObject? owner;
        lock (service.Store.Sync)
        {
            r = service.Store.FindUid(ownerUid);
            owner = r is null ? null : service.Store.Get(r.GroupResource, r.Namespace, r.Name);
        }
        if (r is null || owner is null || !Json.Strings(Json.At(owner, "metadata", "finalizers")).Contains(GcFinalizers.Foreground))
        {
            return;
        }
        if (!Dependents(ownerUid).Any())
        {
            RemoveFinalizer(r.GroupResource, owner, GcFinalizers.Foreground);
        }
    }

    private List<(string GroupResource, JsonObject Object)> Dependents(string ownerUid)
    {
        lock (service.Store.Sync)
        {
            return service.Store.DependentsOf(ownerUid)
                .Select(r => (r.GroupResource, Object: service.Store.Get(r.GroupResource, r.Namespace, r.Name)))
                .Where(x => x.Object is not null)
                .Select(x => (x.GroupResource, x.Object!))
                .ToList();
        }
    }

    private static IEnumerable<string> OwnerUids(JsonObject obj) =>
        (Json.At(obj, "metadata", "ownerReferences") as JsonArray)?.OfType<JsonObject>().Select(o => Json.Str(o, "uid")).OfType<string>() ?? [];

    private void RemoveOwnerRef(string gr, JsonObject dep, string ownerUid) =>
        Mutate(gr, dep, o =>
        {
            var refs = (Json.At(o, "metadata", "ownerReferences") as JsonArray)?.OfType<JsonObject>().Where(x => Json.Str(x, "uid") != ownerUid).Select(x => (JsonNode)x.DeepClone()).ToArray() ?? [];
            if (refs.Length == 0)
            {
                Json.Metadata(o).Remove("ownerReferences");
            }
            else
            {
                Json.Metadata(o)["ownerReferences"] = new JsonArray(refs);
            }
        });

    private void RemoveFinalizer(string gr, JsonObject obj, string finalizer) =>
        Mutate(gr, obj, o => Json.Metadata(o)["finalizers"] = Json.StringArray(Json.Strings(Json.At(o, "metadata", "finalizers")).Where(f => f != finalizer).ToList()));

    private void Mutate(string gr, JsonObject current, Action<JsonObject> change)
    {
        var t = service.Registry.FindGroupResource(gr);
        if (t is null)
        {
            return;
        }
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var fresh = service.TryGet(t, Json.Str(current, "metadata", "namespace"), Json.Str(current, "metadata", "name")!);
            if (fresh is null || Json.Str(fresh, "metadata", "uid") != Json.Str(current, "metadata", "uid"))
            {
                return;
            }
            change(fresh);
            try
            {
                service.Update(t, Json.Str(fresh, "metadata", "namespace"), Json.Str(fresh, "metadata", "name")!, fresh, null, RequestOptions.System with { FieldManager = "garbage-collector" });
                return;
            }
            catch (ApiException ex) when (ex.Code is 409 or 404)
            {
                // Raced with a client: read again.
            }
        }
    }

    private void Delete(string gr, JsonObject obj, DeleteOptions d)
    {
        var t = service.Registry.FindGroupResource(gr);
        if (t is null)
        {
            return;
        }
        try
        {
            service.Delete(t, Json.Str(obj, "metadata", "namespace"), Json.Str(obj, "metadata", "name")!, d with { PreconditionUid = Json.Str(obj, "metadata", "uid") }, RequestOptions.System);
        }
        catch (ApiException ex) when (ex.Code is 404 or 409)
        {
            // Already gone, or replaced by a new object with the same name.
        }
    }
}
