using System.Text.Json.Nodes;
using KubeEmulator.Admission;
using KubeEmulator.Api;
using KubeEmulator.Controllers;
using KubeEmulator.Http;
using KubeEmulator.Rbac;
using KubeEmulator.Storage;
using KubeEmulator.Watch;
using Microsoft.AspNetCore.Http;

namespace KubeEmulator.Hosting;

/// <summary>Everything behind the HTTP surface, wired once per server: storage, registry, watch hub, admission, RBAC, controllers.</summary>
internal sealed class ApiServerCore
{
    public ApiServerCore(EmulatorOptions options, FaultInjector faults, RequestLog requests)
    {
        Options = options;
        Time = options.Time;
        Faults = faults;
        Requests = requests;
        Hub = new WatchHub(options.WatchHistory);
        Store = new ObjectStore(Hub);
        Registry = new ResourceRegistry(BuiltinResources.Create());
        Service = new ResourceService(Store, Registry, new AdmissionChain(Time), Time);
        Tokens = new TokenAuthenticator();
        Authorizer = new RbacAuthorizer(Store);
        Tables = new TableConverter(Time);
        Watches = new WatchStreamer(Store, faults, Tables, options.BookmarkInterval, Time);
        Crds = new CrdController(Service);
        Service.Committed += Crds.OnCommitted;
        Service.Committed += OnNamespaceCreated;
        faults.DropWatchesHandler = resource => Hub.CloseAll("dropped by fault injection", s => s.ClientResource is not null && (resource is null || s.ClientResource == resource || s.ClientResource.Split('.')[0] == resource));
        Gc = new GarbageCollector(Service);
        Namespaces = new NamespaceController(Service);
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            Service.Create(Registry.Find("", "v1", "namespaces")!, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } }, RequestOptions.System);
        }
    }

    public EmulatorOptions Options { get; }
    public TimeProvider Time { get; }
    public FaultInjector Faults { get; }
    public RequestLog Requests { get; }
    public WatchHub Hub { get; }
    public ObjectStore Store { get; }
    public ResourceRegistry Registry { get; }
    public ResourceService Service { get; }
    public TokenAuthenticator Tokens { get; }
    public RbacAuthorizer Authorizer { get; }
    public TableConverter Tables { get; }
    public WatchStreamer Watches { get; }
    public CrdController Crds { get; }
    public GarbageCollector Gc { get; }
    public NamespaceController Namespaces { get; }

    /// <summary>Errors a controller hit while handling an event (tests assert it stays empty).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<Exception> ControllerErrors { get; } = new();

    public void StartControllers(CancellationToken ct)
    {
        ControllerLoop.Run(Store, Gc.Handle, ControllerErrors.Enqueue, ct);
        ControllerLoop.Run(Store, Namespaces.Handle, ControllerErrors.Enqueue, ct);
    }
    public string ServerAddress { get; set; } = "127.0.0.1:0";
    public string CaPem { get; set; } = "";
    public CancellationToken Stopping { get; set; }

    /// <summary>Serves pods/log when a kubelet runs pods (set by the server).</summary>
    public Func<HttpContext, string, string, Task> PodLogs { get; set; } = (_, _, name) => throw ApiException.BadRequest($"pod \"{name}\" has no logs: the emulator runs no kubelet (RunPods is off)");

    /// <summary>Handles POST on subresources: pods/eviction and serviceaccounts/token.</summary>
    public JsonObject CreateSubresource(ResourceType t, string? ns, string name, string sub, JsonObject body, RequestOptions o)
    {
        switch (t.GroupResource, sub)
        {
            case ("pods", "eviction"):
                return Evict(t, ns!, name, body, o);
            case ("serviceaccounts", "token"):
                {
                    Service.Get(t, ns, name);
                    var expiry = Json.Long(body, "spec", "expirationSeconds") ?? 3600;
                    var result = Json.Clone(body);
                    result["apiVersion"] = "authentication.k8s.io/v1";
                    result["kind"] = "TokenRequest";
                    result["status"] = new JsonObject { ["token"] = Tokens.IssueServiceAccount(ns!, name), ["expirationTimestamp"] = Json.Timestamp(Time.GetUtcNow().AddSeconds(expiry)) };
                    return result;
                }
            default:
                throw ApiException.NotFoundPath($"{t.GroupResource}/{name}/{sub}");
        }
    }

    /// <summary>The Eviction API (no PodDisruptionBudgets here): DisruptionTarget condition, then a graceful delete.</summary>
    private JsonObject Evict(ResourceType pods, string ns, string name, JsonObject body, RequestOptions o)
    {
        var pod = Service.Get(pods, ns, name);
        var status = Json.Obj(pod, "status");
        var conditions = status["conditions"] as JsonArray ?? [];
        conditions.Add(new JsonObject { ["type"] = "DisruptionTarget", ["status"] = "True", ["lastProbeTime"] = null, ["lastTransitionTime"] = Json.Timestamp(Time.GetUtcNow()), ["reason"] = "EvictionByEvictionAPI", ["message"] = "Eviction API: evicting" });
        status["conditions"] = conditions;
        Service.Update(pods, ns, name, pod, "status", RequestOptions.System with { FieldManager = "kube-apiserver" });
        var grace = Json.Long(body, "deleteOptions", "gracePeriodSeconds");
        Service.Delete(pods, ns, name, new DeleteOptions(GracePeriodSeconds: grace), o);
        return new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Success", ["code"] = 201 };
    }

    public ResourceType Type(string group, string resource) =>
        Registry.All.First(t => t.Group == group && t.Resource == resource);

    /// <summary>The controller-manager's ServiceAccount controller: every namespace gets a "default" ServiceAccount.</summary>
    private void OnNamespaceCreated(ResourceType t, JsonObject? old, JsonObject? current)
    {
        if (t.GroupResource != "namespaces" || old is not null || current is null)
        {
            return;
        }
        var ns = Json.Str(current, "metadata", "name")!;
        var sa = Type("", "serviceaccounts");
        if (Store.Get(sa.GroupResource, ns, "default") is null)
        {
            Service.Create(sa, ns, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "default" } }, RequestOptions.System);
        }
    }

    /// <summary>SelfSubjectAccessReview and SubjectAccessReview, answered by the same RBAC evaluation.</summary>
    public JsonObject AccessReview(ResourceType t, JsonObject body, UserInfo caller)
    {
        var spec = Json.Obj(body, "spec");
        var user = caller;
        if (t.Resource == "subjectaccessreviews")
        {
            var name = Json.Str(spec, "user") ?? "";
            var groups = Json.Strings(spec["groups"]).ToList();
            user = new UserInfo(name, groups, groups.Contains("system:masters"));
        }
        bool allowed;
        if (spec["nonResourceAttributes"] is JsonObject nr)
        {
            allowed = Authorizer.Allowed(user, new AccessAttributes(Json.Str(nr, "verb") ?? "get", "", "", null, null, null, Json.Str(nr, "path") ?? "/"));
        }
        else
        {
            var ra = Json.Obj(spec, "resourceAttributes");
            allowed = Authorizer.Allowed(user, new AccessAttributes(Json.Str(ra, "verb") ?? "", Json.Str(ra, "group") ?? "", Json.Str(ra, "resource") ?? "", string.IsNullOrEmpty(Json.Str(ra, "subresource")) ? null : Json.Str(ra, "subresource"), string.IsNullOrEmpty(Json.Str(ra, "namespace")) ? null : Json.Str(ra, "namespace"), string.IsNullOrEmpty(Json.Str(ra, "name")) ? null : Json.Str(ra, "name")));
        }
        var result = Json.Clone(body);
        result["apiVersion"] = t.ApiVersion;
        result["kind"] = t.Kind;
        result["status"] = new JsonObject { ["allowed"] = allowed, ["reason"] = allowed ? "RBAC: allowed" : "" };
        return result;
    }
}
