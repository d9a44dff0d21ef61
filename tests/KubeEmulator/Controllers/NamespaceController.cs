using KubeEmulator.Api;
using KubeEmulator.Storage;
using KubeEmulator.Watch;

namespace KubeEmulator.Controllers;

/// <summary>
/// Namespace deletion: a Terminating namespace has its content deleted; when nothing is left (objects with
/// finalizers wait for them), the "kubernetes" finalizer is dropped and the namespace disappears.
/// </summary>
internal sealed class NamespaceController(ResourceService service)
{
    public void Handle(WatchEvent e)
    {
        if (e.GroupResource == "namespaces")
        {
            if (e.Type != "DELETED" && Json.At(e.Object, "metadata", "deletionTimestamp") is not null)
            {
                Drain(e.Name);
            }
            return;
        }
        if (e.Type == "DELETED" && e.Namespace is not null)
        {
            DrainIfTerminating(e.Namespace);
        }
    }

    private void DrainIfTerminating(string ns)
    {
        bool terminating;
        lock (service.Store.Sync)
        {
            terminating = service.Store.Get("namespaces", null, ns) is { } n && Json.At(n, "metadata", "deletionTimestamp") is not null;
        }
        if (terminating)
        {
            Finalize(ns);
        }
    }

    private void Drain(string ns)
    {
        foreach (var gr in service.Registry.GroupResources())
        {
            var t = service.Registry.FindGroupResource(gr);
            if (t is null || !t.Namespaced)
            {
                continue;
            }
            List<(string Name, bool Deleting)> items;
            lock (service.Store.Sync)
            {
                items = service.Store.List(gr, ns).Select(kv => (Json.Str(kv.Value, "metadata", "name")!, Json.At(kv.Value, "metadata", "deletionTimestamp") is not null)).ToList();
            }
            foreach (var (name, deleting) in items.Where(i => !i.Deleting))
            {
                try
                {
                    service.Delete(t, ns, name, new DeleteOptions(GracePeriodSeconds: null, PropagationPolicy: "Background"), RequestOptions.System);
                }
                catch (ApiException ex) when (ex.Code == 404)
                {
                    // Gone meanwhile.
                }
            }
        }
        Finalize(ns);
    }

    /// <summary>Removes an emptied Terminating namespace (unless a finalizer of its own holds it).</summary>
    private void Finalize(string ns)
    {
        lock (service.Store.Sync)
        {
            if (service.Store.CountInNamespace(ns) == 0 && service.Store.Get("namespaces", null, ns) is { } n && Json.At(n, "metadata", "deletionTimestamp") is not null && !Json.Strings(Json.At(n, "metadata", "finalizers")).Any())
            {
                service.Store.Remove("namespaces", null, ns);
            }
        }
    }
}
