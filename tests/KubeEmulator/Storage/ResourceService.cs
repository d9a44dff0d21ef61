using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using KubeEmulator.Admission;
using KubeEmulator.Api;
using KubeEmulator.Patching;
using KubeEmulator.Selectors;

namespace KubeEmulator.Storage;

/// <summary>
/// The API server's registry layer: create/get/list/update/patch/delete with the real semantics (optimistic
/// concurrency, status subresource, generation, finalizers, graceful deletion), over <see cref="ObjectStore"/>.
/// HTTP handlers, the kubelet and the controllers all go through here.
/// </summary>
internal sealed class ResourceService(ObjectStore store, ResourceRegistry registry, AdmissionChain admission, TimeProvider time)
{
    private const string GenerateNameChars = "bcdfghjklmnpqrstvwxz2456789";

    public ObjectStore Store => store;
    public ResourceRegistry Registry => registry;
    public TimeProvider Time => time;

    /// <summary>Called inside the store lock after each committed write (CRD registration hooks in here).</summary>
    public event Action<ResourceType, JsonObject?, JsonObject?>? Committed;

    public JsonObject Get(ResourceType t, string? ns, string name)
    {
        lock (store.Sync)
        {
            var o = store.Get(t.GroupResource, Ns(t, ns), name) ?? throw ApiException.NotFound(t, name);
            return AsVersion(t, o);
        }
    }

    public JsonObject? TryGet(ResourceType t, string? ns, string name)
    {
        lock (store.Sync)
        {
            var o = store.Get(t.GroupResource, Ns(t, ns), name);
            return o is null ? null : AsVersion(t, o);
        }
    }

    /// <summary>Lists matching objects; with raw the stored nodes are returned (not copies) in Stored and Items is empty.</summary>
    public ListResult List(ResourceType t, string? ns, ListOptions options, bool raw = false)
    {
        var labels = LabelSelector.Parse(options.LabelSelector);
        var fields = FieldSelector.Parse(options.FieldSelector, t);
        string? after = null;
        long? snapshot = null;
        if (!string.IsNullOrEmpty(options.Continue))
        {
            (after, snapshot) = DecodeContinue(options.Continue);
        }
        lock (store.Sync)
        {
            var rv = snapshot ?? store.Revision;
            if (snapshot is not null && snapshot < store.Hub.OldestAvailable)
            {
                throw new ApiException(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
            }
            var items = new List<JsonObject>();
            string? lastKey = null;
            var limit = options.Limit is > 0 ? options.Limit.Value : int.MaxValue;
            long remaining = 0;
            foreach (var (key, obj) in store.List(t.GroupResource, t.Namespaced ? ns : null, after))
            {
                if (!labels.Matches(obj) || !fields.Matches(obj))
                {
                    continue;
                }
                if (items.Count < limit)
                {
                    items.Add(raw ? obj : AsVersion(t, obj));
                    lastKey = key;
                }
                else
                {
                    remaining++;
                }
            }
            string? cont = remaining > 0 ? EncodeContinue(lastKey!, rv) : null;
            var count = remaining > 0 && labels.IsEmpty && fields.IsEmpty ? remaining : (long?)null;
            return raw ? new ListResult([], rv, cont, count) { Stored = items } : new ListResult(items, rv, cont, count);
        }
    }

    public JsonObject Create(ResourceType t, string? ns, JsonObject body, RequestOptions o, JsonObject? applyConfig = null)
    {
        var obj = Json.Clone(body);
        CheckKind(t, obj);
        var meta = Json.Metadata(obj);
        ns = Ns(t, ns);
        var bodyNs = Json.Str(meta, "namespace");
        if (t.Namespaced)
        {
            if (!string.IsNullOrEmpty(bodyNs) && ns is not null && bodyNs != ns)
            {
                throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            }
            ns ??= bodyNs;
            if (string.IsNullOrEmpty(ns))
            {
                throw ApiException.BadRequest("the namespace of the object must be set");
            }
            meta["namespace"] = ns;
        }
        else
        {
            meta.Remove("namespace");
        }
        lock (store.Sync)
        {
            if (string.IsNullOrEmpty(Json.Str(meta, "name")) && Json.Str(meta, "generateName") is { Length: > 0 } prefix)
            {
                string candidate;
                do
                {
                    candidate = prefix + RandomSuffix(5);
                }
                while (store.Get(t.GroupResource, ns, candidate) is not null);
                meta["name"] = candidate;
            }
            var name = Json.Str(meta, "name") ?? "";
            if (t.Namespaced)
            {
                CheckNamespaceOpen(t, ns!, name);
            }
            meta["uid"] = Guid.NewGuid().ToString();
            meta["creationTimestamp"] = Json.Timestamp(time.GetUtcNow());
            meta.Remove("resourceVersion");
            meta.Remove("deletionTimestamp");
            meta.Remove("deletionGracePeriodSeconds");
            meta.Remove("selfLink");
            if (t.TracksGeneration || t.Custom is not null)
            {
                meta["generation"] = 1;
            }
            else
            {
                meta.Remove("generation");
            }
            if (t.HasStatus && t.Custom is not null)
            {
                obj.Remove("status");
            }
            admission.Admit(t, obj, null, null, o);
            if (applyConfig is not null)
            {
                ManagedFields.SetApplied(obj, o.FieldManager!, applyConfig, t.ApiVersion, time);
            }
            else
            {
                ManagedFields.RecordUpdate(obj, null, o.FieldManager ?? DefaultManager(o), t.ApiVersion, time, subresource: null);
            }
            if (store.Get(t.GroupResource, ns, name) is not null)
            {
                throw ApiException.AlreadyExists(t, name);
            }
            if (o.DryRun)
            {
                return AsVersion(t, obj);
            }
            StorageVersion(t, obj);
            store.Put(t.GroupResource, obj);
            Committed?.Invoke(t, null, obj);
            return AsVersion(t, obj);
        }
    }

    /// <summary>PUT: a full replacement, with an optional resourceVersion precondition from the body.</summary>
    public JsonObject Update(ResourceType t, string? ns, string name, JsonObject body, string? subresource, RequestOptions o)
    {
        ns = Ns(t, ns);
        CheckKind(t, body);
        var bodyName = Json.Str(body, "metadata", "name");
        if (bodyName is not null && bodyName != name)
        {
            throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        }
        lock (store.Sync)
        {
            var old = store.Get(t.GroupResource, ns, name) ?? throw ApiException.NotFound(t, name);
            var rv = Json.Str(body, "metadata", "resourceVersion");
            if (string.IsNullOrEmpty(rv) && t.Custom is not null)
            {
                // Custom resources do not allow unconditional updates (AllowUnconditionalUpdate is false for them).
                throw ApiException.Invalid(t, name, [FieldError.Invalid("metadata.resourceVersion", "0x0", "must be specified for an update")]);
            }
            if (!string.IsNullOrEmpty(rv) && rv != Json.Str(old, "metadata", "resourceVersion"))
            {
                throw ApiException.Conflict(t, name);
            }
            return CommitUpdate(t, old, body, subresource, o, "Update");
        }
    }

    /// <summary>PATCH: read, apply, and commit in one critical section (so no conflict unless the patch names a resourceVersion).</summary>
    public JsonObject Patch(ResourceType t, string? ns, string name, string contentType, byte[] body, string? subresource, RequestOptions o)
    {
        ns = Ns(t, ns);
        var kind = PatchKinds.FromContentType(contentType);
        lock (store.Sync)
        {
            var old = store.Get(t.GroupResource, ns, name);
            if (old is null)
            {
                if (kind == PatchKind.Apply && subresource is null)
                {
                    var applied = ServerSideApply.ParseConfig(body);
                    CheckApplyIdentity(t, ns, name, applied);
                    return ApplyCreate(t, ns, name, applied, o);
                }
                throw ApiException.NotFound(t, name);
            }
            var current = AsVersion(t, old);
            JsonObject patched;
            var operation = "Update";
            switch (kind)
            {
                case PatchKind.Merge:
                    patched = JsonMergePatch.Apply(current, Json.Parse(body));
                    break;
                case PatchKind.Json:
                    patched = JsonPatch.Apply(current, Json.Parse(body));
                    break;
                case PatchKind.StrategicMerge:
                    patched = StrategicMergePatch.Apply(current, Json.Parse(body), t);
                    break;
                case PatchKind.Apply:
                    if (string.IsNullOrEmpty(o.FieldManager))
                    {
                        throw ApiException.BadRequest("PATCH /apply requests require a fieldManager query parameter");
                    }
                    var config = ServerSideApply.ParseConfig(body);
                    CheckApplyIdentity(t, ns, name, config);
                    patched = ServerSideApply.Apply(t, current, config, o.FieldManager, o.Force, subresource, time);
                    operation = "Apply";
                    break;
                default:
                    throw ApiException.UnsupportedMediaType(contentType);
            }
            var rv = Json.Str(patched, "metadata", "resourceVersion");
            if (!string.IsNullOrEmpty(rv) && rv != Json.Str(old, "metadata", "resourceVersion"))
            {
                throw ApiException.Conflict(t, name);
            }
            return CommitUpdate(t, old, patched, subresource, o, operation);
        }
    }

    private JsonObject ApplyCreate(ResourceType t, string? ns, string name, JsonObject config, RequestOptions o)
    {
        if (string.IsNullOrEmpty(o.FieldManager))
        {
            throw ApiException.BadRequest("PATCH /apply requests require a fieldManager query parameter");
        }
        var obj = Json.Clone(config);
        Json.Metadata(obj)["name"] = name;
        return Create(t, ns, obj, o, applyConfig: config);
    }

    private static void CheckApplyIdentity(ResourceType t, string? ns, string name, JsonObject config)
    {
        if (Json.Str(config, "kind") is { } k && k != t.Kind)
        {
            throw ApiException.BadRequest($"the kind of the apply configuration ({k}) does not match the resource ({t.Kind})");
        }
        if (Json.Str(config, "apiVersion") is null || Json.Str(config, "kind") is null)
        {
            throw ApiException.BadRequest("invalid object type: apply configurations must set apiVersion and kind");
        }
        var n = Json.Str(config, "metadata", "name");
        if (n is not null && n != name)
        {
            throw ApiException.BadRequest($"the name of the object ({n}) does not match the name on the URL ({name})");
        }
        var cns = Json.Str(config, "metadata", "namespace");
        if (t.Namespaced && cns is not null && cns != ns)
        {
            throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }
    }

    /// <summary>Shared by PUT and PATCH: keeps what the verb may not change, admits, bumps generation, and writes if anything changed.</summary>
    private JsonObject CommitUpdate(ResourceType t, JsonObject old, JsonObject incoming, string? subresource, RequestOptions o, string operation)
    {
        var name = Json.Str(old, "metadata", "name")!;
        JsonObject obj;
        if (subresource == "status")
        {
            if (!t.HasStatus)
            {
                throw ApiException.NotFoundPath($"{t.GroupResource}/status");
            }
            obj = Json.Clone(old);
            if (incoming["status"] is { } st)
            {
                obj["status"] = st.DeepClone();
            }
            else
            {
                obj.Remove("status");
            }
            // Labels and annotations written through /status are kept by the real server only for some types; keep old.
            if (Json.At(incoming, "metadata", "managedFields") is { } mf && operation == "Apply")
            {
                Json.Metadata(obj)["managedFields"] = mf.DeepClone();
            }
        }
        else if (subresource is null)
        {
            obj = Json.Clone(incoming);
            var meta = Json.Metadata(obj);
            var oldMeta = Json.Metadata(old);
            foreach (var k in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace", "name" })
            {
                if (oldMeta[k] is { } v)
                {
                    meta[k] = v.DeepClone();
                }
                else
                {
                    meta.Remove(k);
                }
            }
            if (t.HasStatus)
            {
                if (old["status"] is { } st)
                {
                    obj["status"] = st.DeepClone();
                }
                else
                {
                    obj.Remove("status");
                }
            }
            if (oldMeta["deletionTimestamp"] is not null)
            {
                var before = Json.Strings(oldMeta["finalizers"]).ToHashSet(StringComparer.Ordinal);
                var added = Json.Strings(meta["finalizers"]).Where(f => !before.Contains(f)).ToList();
                if (added.Count > 0)
                {
                    throw ApiException.Invalid(t, name, [FieldError.Forbidden("metadata.finalizers", $"no new finalizers can be added if the object is being deleted, found new finalizers []string{{\"{string.Join("\", \"", added)}\"}}")]);
                }
            }
        }
        else
        {
            throw ApiException.NotFoundPath($"{t.GroupResource}/{subresource}");
        }
        obj["apiVersion"] = t.ApiVersion;
        obj["kind"] = t.Kind;
        admission.Admit(t, obj, AsVersion(t, old), subresource, o);
        if (t.TracksGeneration || t.Custom is not null)
        {
            var gen = Json.Long(old, "metadata", "generation") ?? 1;
            if (!Json.DeepEquals(WithoutMetaAndStatus(old, t), WithoutMetaAndStatus(obj, t)))
            {
                gen++;
            }
            Json.Metadata(obj)["generation"] = gen;
        }
        if (operation == "Update")
        {
            ManagedFields.RecordUpdate(obj, AsVersion(t, old), o.FieldManager ?? DefaultManager(o), t.ApiVersion, time, subresource);
        }
        StorageVersion(t, obj);
        Json.Metadata(obj)["resourceVersion"] = Json.Str(old, "metadata", "resourceVersion");
        if (Json.DeepEquals(WithoutVolatile(old), WithoutVolatile(obj)))
        {
            return AsVersion(t, old);
        }
        if (o.DryRun)
        {
            return AsVersion(t, obj);
        }
        var meta2 = Json.Metadata(obj);
        if (meta2["deletionTimestamp"] is not null && !Json.Strings(meta2["finalizers"]).Any() && !WaitsForGrace(t, obj))
        {
            var removed = store.Remove(t.GroupResource, Json.Str(meta2, "namespace"), name)!;
            Committed?.Invoke(t, old, null);
            return AsVersion(t, removed);
        }
        store.Put(t.GroupResource, obj);
        Committed?.Invoke(t, old, obj);
        return AsVersion(t, obj);
    }

    /// <summary>DELETE: finalizers and graceful pod deletion mark the object; otherwise it is removed now.</summary>
    public JsonObject Delete(ResourceType t, string? ns, string name, DeleteOptions d, RequestOptions o)
    {
        ns = Ns(t, ns);
        lock (store.Sync)
        {
            var old = store.Get(t.GroupResource, ns, name) ?? throw ApiException.NotFound(t, name);
            var meta = Json.Metadata(old);
            if (d.PreconditionUid is not null && d.PreconditionUid != Json.Str(meta, "uid"))
            {
                throw ApiException.Conflict(t, name, $"Precondition failed: UID in precondition: {d.PreconditionUid}, UID in object meta: {Json.Str(meta, "uid")}");
            }
            if (d.PreconditionResourceVersion is not null && d.PreconditionResourceVersion != Json.Str(meta, "resourceVersion"))
            {
                throw ApiException.Conflict(t, name, $"Precondition failed: ResourceVersion in precondition: {d.PreconditionResourceVersion}, ResourceVersion in object meta: {Json.Str(meta, "resourceVersion")}");
            }
            var obj = Json.Clone(old);
            var m = Json.Metadata(obj);
            var finalizers = Json.Strings(m["finalizers"]).ToList();
            var policy = d.PropagationPolicy;
            if (policy is not null && policy is not ("Foreground" or "Background" or "Orphan"))
            {
                throw ApiException.Invalid(t, name, [FieldError.NotSupported("propagationPolicy", policy, ["Foreground", "Background", "Orphan"])]);
            }
            if (policy == "Foreground" && !finalizers.Contains(GcFinalizers.Foreground))
            {
                finalizers.Add(GcFinalizers.Foreground);
            }
            else if (policy == "Orphan" && !finalizers.Contains(GcFinalizers.Orphan))
            {
                finalizers.Add(GcFinalizers.Orphan);
            }
            if (t.GroupResource == "namespaces")
            {
                if (m["deletionTimestamp"] is null)
                {
                    m["deletionTimestamp"] = Json.Timestamp(time.GetUtcNow());
                    m["deletionGracePeriodSeconds"] = 0;
                    Json.Obj(obj, "status")["phase"] = "Terminating";
                    m["finalizers"] = Json.StringArray(finalizers);
                    if (o.DryRun)
                    {
                        return AsVersion(t, obj);
                    }
                    store.Put(t.GroupResource, obj);
                    Committed?.Invoke(t, old, obj);
                }
                return AsVersion(t, store.Get(t.GroupResource, ns, name)!);
            }
            var grace = GracePeriod(t, old, d);
            if (grace > 0 || finalizers.Count > 0)
            {
                if (m["deletionTimestamp"] is null || grace < (Json.Long(m, "deletionGracePeriodSeconds") ?? 0))
                {
                    m["deletionTimestamp"] = Json.Timestamp(time.GetUtcNow().AddSeconds(grace));
                    m["deletionGracePeriodSeconds"] = grace;
                }
                if (finalizers.Count > 0)
                {
                    m["finalizers"] = Json.StringArray(finalizers);
                }
                if (o.DryRun)
                {
                    return AsVersion(t, obj);
                }
                if (!Json.DeepEquals(old, obj))
                {
                    store.Put(t.GroupResource, obj);
                    Committed?.Invoke(t, old, obj);
                }
                return AsVersion(t, obj);
            }
            if (o.DryRun)
            {
                return AsVersion(t, old);
            }
            var removed = store.Remove(t.GroupResource, ns, name)!;
            Committed?.Invoke(t, old, null);
            return AsVersion(t, removed);
        }
    }

    public List<JsonObject> DeleteCollection(ResourceType t, string? ns, ListOptions list, DeleteOptions d, RequestOptions o)
    {
        var items = List(t, ns, list with { Limit = null, Continue = null }).Items;
        var deleted = new List<JsonObject>();
        foreach (var item in items)
        {
            try
            {
                deleted.Add(Delete(t, Json.Str(item, "metadata", "namespace"), Json.Str(item, "metadata", "name")!, d, o));
            }
            catch (ApiException e) when (e.Code == 404)
            {
                // Deleted meanwhile: deletecollection is best effort per item, as in the real server.
            }
        }
        return deleted;
    }

    /// <summary>Pods bound to a node are deleted gracefully (the kubelet finishes the deletion); everything else at once.</summary>
    private long GracePeriod(ResourceType t, JsonObject obj, DeleteOptions d)
    {
        if (t.GroupResource != "pods")
        {
            return 0;
        }
        var phase = Json.Str(obj, "status", "phase");
        if (string.IsNullOrEmpty(Json.Str(obj, "spec", "nodeName")) || phase is "Succeeded" or "Failed")
        {
            return 0;
        }
        var grace = d.GracePeriodSeconds ?? Json.Long(obj, "spec", "terminationGracePeriodSeconds") ?? 30;
        // A grace period of 0 from a client means "now" only with force; the API server turns it into 1 otherwise.
        return grace <= 0 ? (d.GracePeriodSeconds == 0 ? 0 : 1) : grace;
    }

    /// <summary>A pod that is terminating stays until its kubelet (or a grace-0 delete) removes it.</summary>
    private static bool WaitsForGrace(ResourceType t, JsonObject obj) =>
        t.GroupResource == "pods" && (Json.Long(obj, "metadata", "deletionGracePeriodSeconds") ?? 0) > 0;

    private void CheckNamespaceOpen(ResourceType t, string ns, string name)
    {
        var n = store.Get("namespaces", null, ns);
        if (n is null)
        {
            throw new ApiException(404, "NotFound", $"namespaces \"{ns}\" not found", new JsonObject { ["name"] = ns, ["kind"] = "namespaces" });
        }
        if (Json.At(n, "metadata", "deletionTimestamp") is not null)
        {
            throw ApiException.Forbidden($"{t.GroupResource} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated", t, name);
        }
    }

    private static void CheckKind(ResourceType t, JsonObject obj)
    {
        var kind = Json.Str(obj, "kind");
        if (kind is not null && kind != t.Kind)
        {
            throw ApiException.BadRequest($"the kind of the object ({kind}) does not match the resource ({t.Kind})");
        }
        var apiVersion = Json.Str(obj, "apiVersion");
        if (apiVersion is not null && ResourceRegistry.SplitApiVersion(apiVersion).Group != t.Group)
        {
            throw ApiException.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({t.ApiVersion})");
        }
        obj["apiVersion"] = t.ApiVersion;
        obj["kind"] = t.Kind;
    }

    /// <summary>CRD versions share storage with no conversion (strategy None): only apiVersion changes, as in the real server.</summary>
    public static JsonObject AsVersion(ResourceType t, JsonObject stored)
    {
        var copy = Json.Clone(stored);
        copy["apiVersion"] = t.ApiVersion;
        copy["kind"] = t.Kind;
        return ReorderTypeMeta(copy);
    }

    private static JsonObject ReorderTypeMeta(JsonObject o)
    {
        if (o.Count > 0 && o.First().Key == "apiVersion")
        {
            return o;
        }
        var r = new JsonObject { ["apiVersion"] = o["apiVersion"]?.DeepClone(), ["kind"] = o["kind"]?.DeepClone() };
        foreach (var (k, v) in o)
        {
            if (k is not "apiVersion" and not "kind")
            {
                r[k] = v?.DeepClone();
            }
        }
        return r;
    }

    private void StorageVersion(ResourceType t, JsonObject obj)
    {
        if (t.Custom is { Storage: false })
        {
            var storage = registry.FindGroupResource(t.GroupResource);
            if (storage is not null)
            {
                obj["apiVersion"] = storage.ApiVersion;
            }
        }
    }

    private static string? Ns(ResourceType t, string? ns) => t.Namespaced ? (string.IsNullOrEmpty(ns) ? null : ns) : null;

    private static string DefaultManager(RequestOptions o) =>
        o.User == Rbac.UserInfo.System ? "kube-emulator" : string.IsNullOrEmpty(o.UserAgent) ? "unknown" : o.UserAgent.Split('/')[0].Trim();

    private static JsonObject WithoutMetaAndStatus(JsonObject o, ResourceType t)
    {
        var c = Json.Clone(o);
        c.Remove("metadata");
        c.Remove("apiVersion");
        c.Remove("kind");
        if (t.HasStatus)
        {
            c.Remove("status");
        }
        return c;
    }

    private static JsonObject WithoutVolatile(JsonObject o)
    {
        var c = Json.Clone(o);
        var m = Json.Metadata(c);
        m.Remove("resourceVersion");
        m.Remove("managedFields");
        c.Remove("apiVersion");
        return c;
    }

    private static string RandomSuffix(int n)
    {
        var sb = new StringBuilder(n);
        for (var i = 0; i < n; i++)
        {
            sb.Append(GenerateNameChars[Random.Shared.Next(GenerateNameChars.Length)]);
        }
        return sb.ToString();
    }

    private static string EncodeContinue(string key, long rv) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(new JsonObject { ["v"] = "meta.k8s.io/v1", ["rv"] = rv, ["start"] = key }.ToJsonString()));

    private static (string After, long Rv) DecodeContinue(string token)
    {
        try
        {
            var node = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(token)));
            var start = Json.Str(node, "start") ?? throw new FormatException();
            return (start, Json.Long(node, "rv") ?? throw new FormatException());
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
        {
            throw ApiException.BadRequest("continue key is not valid: " + token.ToString(CultureInfo.InvariantCulture));
        }
    }
}
