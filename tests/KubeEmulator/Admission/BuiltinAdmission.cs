using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Admission;

/// <summary>Defaulting and the validations operators most often trip over, for the built-in types.</summary>
internal static class BuiltinAdmission
{
    public static void Admit(ResourceType t, JsonObject obj, JsonObject? old, string? subresource, List<FieldError> errors, TimeProvider time)
    {
        switch (t.GroupResource)
        {
            case "pods":
                if (subresource is null)
                {
                    Pod(obj, old, errors);
                }
                break;
            case "namespaces":
                if (old is null)
                {
                    Json.Obj(obj, "spec")["finalizers"] = Json.StringArray(["kubernetes"]);
                    Json.Obj(obj, "status")["phase"] = "Active";
                    Json.Obj(Json.Metadata(obj), "labels")["kubernetes.io/metadata.name"] = Json.Str(obj, "metadata", "name");
                }
                break;
            case "secrets":
                Secret(obj, errors);
                break;
            case "configmaps":
                foreach (var key in (Json.At(obj, "data") as JsonObject)?.Select(kv => kv.Key) ?? [])
                {
                    if (!ValidDataKey(key))
                    {
                        errors.Add(FieldError.Invalid($"data[{key}]", $"\"{key}\"", "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
                    }
                }
                break;
            case "services":
                if (old is null)
                {
                    var spec = Json.Obj(obj, "spec");
                    spec["type"] ??= "ClusterIP";
                    spec["sessionAffinity"] ??= "None";
                    if (Json.Str(spec, "clusterIP") is null)
                    {
                        spec["clusterIP"] = $"10.96.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}";
                        spec["clusterIPs"] = Json.StringArray([Json.Str(spec, "clusterIP")!]);
                    }
                    foreach (var p in (spec["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
                    {
                        p["protocol"] ??= "TCP";
                        p["targetPort"] ??= p["port"]?.DeepClone();
                    }
                    obj["status"] ??= new JsonObject { ["loadBalancer"] = new JsonObject() };
                }
                else
                {
                    Json.Obj(obj, "spec")["clusterIP"] = Json.At(old, "spec", "clusterIP")?.DeepClone();
                    Json.Obj(obj, "spec")["clusterIPs"] = Json.At(old, "spec", "clusterIPs")?.DeepClone();
                }
                break;
            case "persistentvolumeclaims":
                Pvc(obj, old, subresource, errors);
                break;
            case "rolebindings.rbac.authorization.k8s.io":
            case "clusterrolebindings.rbac.authorization.k8s.io":
                if (obj["roleRef"] is not JsonObject)
                {
                    errors.Add(FieldError.Required("roleRef"));
                }
                else if (old is not null && !Json.DeepEquals(old["roleRef"], obj["roleRef"]))
                {
                    errors.Add(FieldError.Invalid("roleRef", obj["roleRef"]!.ToJsonString(), "cannot change roleRef"));
                }
                break;
            case "deployments.apps":
                if (subresource is null)
                {
                    WorkloadValidation.Deployment(obj, old, errors);
                }
                break;
            case "poddisruptionbudgets.policy":
                if (subresource is null)
                {
                    WorkloadValidation.PodDisruptionBudget(obj, old, errors);
                }
                break;
            case "customresourcedefinitions.apiextensions.k8s.io":
                CrdValidation.Validate(obj, old, errors);
                break;
            case "events":
                obj["firstTimestamp"] ??= Json.Timestamp(time.GetUtcNow());
                obj["lastTimestamp"] ??= obj["firstTimestamp"]?.DeepClone();
                obj["count"] ??= 1;
                break;
        }
    }

    private static void Pod(JsonObject obj, JsonObject? old, List<FieldError> errors)
    {
        var spec = Json.Obj(obj, "spec");
        if (old is null)
        {
            spec["restartPolicy"] ??= "Always";
            spec["terminationGracePeriodSeconds"] ??= 30;
            spec["dnsPolicy"] ??= "ClusterFirst";
            spec["schedulerName"] ??= "default-scheduler";
            spec["serviceAccountName"] ??= Json.Str(spec, "serviceAccount") ?? "default";
            spec["serviceAccount"] = Json.Str(spec, "serviceAccountName");
            spec["securityContext"] ??= new JsonObject();
            spec["enableServiceLinks"] ??= true;
            spec["priority"] ??= 0;
            spec["preemptionPolicy"] ??= "PreemptLowerPriority";
            obj["status"] = new JsonObject { ["phase"] = "Pending", ["qosClass"] = QosClass(spec) };
        }
        if (spec["containers"] is not JsonArray containers || containers.Count == 0)
        {
            errors.Add(FieldError.Required("spec.containers"));
            return;
        }
        foreach (var list in new[] { "initContainers", "containers" })
        {
            var i = 0;
            foreach (var c in (spec[list] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                if (string.IsNullOrEmpty(Json.Str(c, "name")))
                {
                    errors.Add(FieldError.Required($"spec.{list}[{i}].name"));
                }
                if (string.IsNullOrEmpty(Json.Str(c, "image")))
                {
                    errors.Add(FieldError.Required($"spec.{list}[{i}].image"));
                }
                if (old is null)
                {
                    c["terminationMessagePath"] ??= "/dev/termination-log";
                    c["terminationMessagePolicy"] ??= "File";
                    var image = Json.Str(c, "image") ?? "";
                    c["imagePullPolicy"] ??= image.EndsWith(":latest", StringComparison.Ordinal) || !image.Contains(':', StringComparison.Ordinal) ? "Always" : "IfNotPresent";
                    c["resources"] ??= new JsonObject();
                }
                i++;
            }
        }
        PodFields(spec, errors);
        if (old is not null && old["spec"] is JsonObject oldSpec && !Json.DeepEquals(MutableStripped(oldSpec, oldSpec), MutableStripped(spec, oldSpec)))
        {
            errors.Add(FieldError.Forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"));
        }
    }

    /// <summary>What a real API server refuses in a pod that operators get wrong: duplicate mount paths, negative quantities, bad keys.</summary>
    private static void PodFields(JsonObject spec, List<FieldError> errors)
    {
        foreach (var list in new[] { "initContainers", "containers" })
        {
            var i = 0;
            foreach (var c in (spec[list] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                var m = 0;
                foreach (var mount in (c["volumeMounts"] as JsonArray)?.OfType<JsonObject>() ?? [])
                {
                    var path = Json.Str(mount, "mountPath") ?? "";
                    if (!seen.Add(path))
                    {
                        errors.Add(FieldError.Invalid($"spec.{list}[{i}].volumeMounts[{m}].mountPath", $"\"{path}\"", "must be unique"));
                    }
                    m++;
                }
                foreach (var kind in new[] { "requests", "limits" })
                {
                    QuantityGrammar.RequireQuantities(Json.At(c, "resources", kind) as JsonObject, "Pod", $"spec.{list}[{i}].resources.{kind}");
                    foreach (var (resource, value) in (Json.At(c, "resources", kind) as JsonObject) ?? [])
                    {
                        var text = QuantityGrammar.Text(value);
                        if (QuantityGrammar.IsNegative(text))
                        {
                            errors.Add(FieldError.Invalid($"spec.{list}[{i}].resources.{kind}[{resource}]", $"\"{text}\"", "must be greater than or equal to 0"));
                        }
                    }
                }
                i++;
            }
        }
        foreach (var (key, _) in (spec["nodeSelector"] as JsonObject) ?? [])
        {
            if (ObjectMetaValidation.QualifiedNameProblem(key) is { } problem)
            {
                errors.Add(FieldError.Invalid("spec.nodeSelector", $"\"{key}\"", problem));
            }
        }
        var t = 0;
        foreach (var toleration in (spec["tolerations"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            if (Json.Str(toleration, "key") is { Length: > 0 } key && ObjectMetaValidation.QualifiedNameProblem(key) is { } problem)
            {
                errors.Add(FieldError.Invalid($"spec.tolerations[{t}].key", $"\"{key}\"", problem));
            }
            t++;
        }
    }

    /// <summary>The pod spec with the fields an update may change removed; nodeName may be set once (binding).</summary>
    private static JsonObject MutableStripped(JsonObject spec, JsonObject oldSpec)
    {
        var c = (JsonObject)spec.DeepClone();
        c.Remove("activeDeadlineSeconds");
        c.Remove("tolerations");
        if (string.IsNullOrEmpty(Json.Str(oldSpec, "nodeName")))
        {
            c.Remove("nodeName");
        }
        foreach (var list in new[] { "initContainers", "containers" })
        {
            foreach (var ct in (c[list] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                ct.Remove("image");
            }
        }
        return c;
    }

    private static string QosClass(JsonObject spec)
    {
        var containers = (spec["containers"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var anyResources = containers.Any(c => Json.At(c, "resources", "limits") is JsonObject { Count: > 0 } || Json.At(c, "resources", "requests") is JsonObject { Count: > 0 });
        if (!anyResources)
        {
            return "BestEffort";
        }
        var guaranteed = containers.All(c =>
            Json.At(c, "resources", "limits") is JsonObject l && l["cpu"] is not null && l["memory"] is not null
            && (Json.At(c, "resources", "requests") is not JsonObject r || Json.DeepEquals(r["cpu"] ?? l["cpu"], l["cpu"]) && Json.DeepEquals(r["memory"] ?? l["memory"], l["memory"])));
        return guaranteed ? "Guaranteed" : "Burstable";
    }

    private static void Secret(JsonObject obj, List<FieldError> errors)
    {
        obj["type"] ??= "Opaque";
        if (obj["stringData"] is JsonObject sd)
        {
            var data = Json.Obj(obj, "data");
            foreach (var (k, v) in sd)
            {
                data[k] = Convert.ToBase64String(Encoding.UTF8.GetBytes(v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : v?.ToJsonString() ?? ""));
            }
            obj.Remove("stringData");
        }
        if (obj["data"] is JsonObject d)
        {
            foreach (var (k, v) in d)
            {
                if (!ValidDataKey(k))
                {
                    errors.Add(FieldError.Invalid($"data[{k}]", $"\"{k}\"", "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
                }
                var s = v is JsonValue jv && jv.TryGetValue<string>(out var str) ? str : null;
                if (s is null || !IsBase64(s))
                {
                    errors.Add(FieldError.Invalid($"data[{k}]", "<secret contents redacted>", "illegal base64 data"));
                }
            }
        }
    }

    private static bool IsBase64(string s)
    {
        var buffer = new byte[s.Length];
        return Convert.TryFromBase64String(s, buffer, out _);
    }

    private static bool ValidDataKey(string k) => k.Length is > 0 and <= 253 && k.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && k is not "." and not "..";

    private static void Pvc(JsonObject obj, JsonObject? old, string? subresource, List<FieldError> errors)
    {
        var spec = Json.Obj(obj, "spec");
        if (Json.At(spec, "accessModes") is not JsonArray { Count: > 0 })
        {
            errors.Add(FieldError.Required("spec.accessModes", "at least 1 access mode is required"));
        }
        QuantityGrammar.RequireQuantities(Json.At(spec, "resources", "requests") as JsonObject, "PersistentVolumeClaim", "spec.resources.requests");
        QuantityGrammar.RequireQuantities(Json.At(spec, "resources", "limits") as JsonObject, "PersistentVolumeClaim", "spec.resources.limits");
        if (Json.At(spec, "resources", "requests", "storage") is not { } storage)
        {
            errors.Add(FieldError.Required("spec.resources[storage]"));
        }
        else if (QuantityGrammar.Text(storage) is var size && (QuantityGrammar.IsNegative(size) || QuantityGrammar.IsZero(size)))
        {
            // As ValidatePersistentVolumeClaimSpec: a storage request must be positive.
            errors.Add(FieldError.Invalid("spec.resources[storage]", $"\"{size}\"", "must be greater than zero"));
        }
        foreach (var kind in new[] { "requests", "limits" })
        {
            foreach (var (resource, value) in (Json.At(spec, "resources", kind) as JsonObject) ?? [])
            {
                if (QuantityGrammar.IsNegative(QuantityGrammar.Text(value)) && !(kind == "requests" && resource == "storage"))
                {
                    errors.Add(FieldError.Invalid($"spec.resources.{kind}[{resource}]", $"\"{QuantityGrammar.Text(value)}\"", "must be greater than or equal to 0"));
                }
            }
        }
        if (old is null && subresource is null)
        {
            spec["volumeMode"] ??= "Filesystem";
            // The emulator binds every claim at once to a node-local host directory (no provisioner to wait for).
            spec["volumeName"] ??= "pvc-" + Guid.NewGuid().ToString("D", CultureInfo.InvariantCulture);
            obj["status"] = new JsonObject
            {
                ["phase"] = "Bound",
                ["accessModes"] = spec["accessModes"]?.DeepClone(),
                ["capacity"] = new JsonObject { ["storage"] = Json.At(spec, "resources", "requests", "storage")?.DeepClone() },
            };
        }
    }
}
