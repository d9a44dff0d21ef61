using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.Admission;

/// <summary>
/// apps/v1 Deployment and policy/v1 PodDisruptionBudget: the defaults the real API server writes and the checks a
/// chart most often trips over (apps/validation and policy/validation in Kubernetes), worded as the real server words
/// them. No controller acts on either object in the emulator.
/// </summary>
internal static class WorkloadValidation
{
    public static void Deployment(JsonObject obj, JsonObject? old, List<FieldError> errors)
    {
        var spec = Json.Obj(obj, "spec");
        if (old is null)
        {
            spec["replicas"] ??= 1;
            spec["revisionHistoryLimit"] ??= 10;
            spec["progressDeadlineSeconds"] ??= 600;
            var strategy = Json.Obj(spec, "strategy");
            strategy["type"] ??= "RollingUpdate";
            if (Json.Str(strategy, "type") == "RollingUpdate")
            {
                var rolling = Json.Obj(strategy, "rollingUpdate");
                rolling["maxUnavailable"] ??= "25%";
                rolling["maxSurge"] ??= "25%";
            }
            obj["status"] ??= new JsonObject();
        }

        if (Json.Long(spec, "replicas") is < 0)
        {
            errors.Add(FieldError.Invalid("spec.replicas", Json.Long(spec, "replicas")!.Value.ToString(CultureInfo.InvariantCulture), "must be greater than or equal to 0"));
        }

        var selector = spec["selector"] as JsonObject;
        if (selector is null || IsEmpty(selector))
        {
            errors.Add(FieldError.Required("spec.selector"));
        }
        else if (old is not null && !Json.DeepEquals(Json.At(old, "spec", "selector"), selector))
        {
            errors.Add(FieldError.Invalid("spec.selector", selector.ToJsonString(), "field is immutable"));
        }

        if (spec["template"] is not JsonObject template)
        {
            errors.Add(FieldError.Required("spec.template"));
            return;
        }

        var labels = (Json.At(template, "metadata", "labels") as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "") ?? [];
        if (selector is not null && !IsEmpty(selector) && !Matches(selector, labels))
        {
            errors.Add(FieldError.Invalid("spec.template.metadata.labels", ToMapString(labels), "`selector` does not match template `labels`"));
        }

        var podSpec = template["spec"] as JsonObject;
        if (podSpec?["containers"] is not JsonArray { Count: > 0 } containers)
        {
            errors.Add(FieldError.Required("spec.template.spec.containers"));
            return;
        }

        var restart = Json.Str(podSpec, "restartPolicy");
        if (restart is not null and not "Always")
        {
            errors.Add(FieldError.NotSupported("spec.template.spec.restartPolicy", $"\"{restart}\"", ["Always"]));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var c in containers.OfType<JsonObject>())
        {
            var name = Json.Str(c, "name");
            if (string.IsNullOrEmpty(name))
            {
                errors.Add(FieldError.Required($"spec.template.spec.containers[{i}].name"));
            }
            else if (!names.Add(name))
            {
                errors.Add(new FieldError("FieldValueDuplicate", $"spec.template.spec.containers[{i}].name", $"Duplicate value: \"{name}\""));
            }

            if (string.IsNullOrEmpty(Json.Str(c, "image")))
            {
                errors.Add(FieldError.Required($"spec.template.spec.containers[{i}].image"));
            }

            var p = 0;
            foreach (var port in (c["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                if (Json.Long(port, "containerPort") is not (>= 1 and <= 65535))
                {
                    errors.Add(FieldError.Invalid($"spec.template.spec.containers[{i}].ports[{p}].containerPort", port["containerPort"]?.ToJsonString() ?? "0", "must be between 1 and 65535, inclusive"));
                }

                p++;
            }

            i++;
        }
    }

    public static void PodDisruptionBudget(JsonObject obj, JsonObject? old, List<FieldError> errors)
    {
        var spec = Json.Obj(obj, "spec");
        if (old is null)
        {
            obj["status"] ??= new JsonObject { ["disruptionsAllowed"] = 0, ["currentHealthy"] = 0, ["desiredHealthy"] = 0, ["expectedPods"] = 0 };
        }

        var min = spec["minAvailable"];
        var max = spec["maxUnavailable"];
        if (min is not null && max is not null)
        {
            errors.Add(FieldError.Invalid("spec", spec.ToJsonString(), "minAvailable and maxUnavailable cannot be both set"));
        }

        foreach (var (field, value) in new[] { ("minAvailable", min), ("maxUnavailable", max) })
        {
            if (value is not null && !ValidIntOrPercent(value))
            {
                errors.Add(FieldError.Invalid($"spec.{field}", value.ToJsonString(), "must be a non-negative integer or a percentage between 0% and 100%"));
            }
        }

        var policy = Json.Str(spec, "unhealthyPodEvictionPolicy");
        if (policy is not null and not "IfHealthyBudget" and not "AlwaysAllow")
        {
            errors.Add(FieldError.NotSupported("spec.unhealthyPodEvictionPolicy", $"\"{policy}\"", ["AlwaysAllow", "IfHealthyBudget"]));
        }
    }

    private static bool ValidIntOrPercent(JsonNode value)
    {
        if (value is JsonValue v && v.TryGetValue<long>(out var n))
        {
            return n >= 0;
        }

        var s = value is JsonValue sv && sv.TryGetValue<string>(out var str) ? str : null;
        return s is not null && s.EndsWith('%') && int.TryParse(s.AsSpan(0, s.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var pct) && pct <= 100;
    }

    private static bool IsEmpty(JsonObject selector) =>
        selector["matchLabels"] is not JsonObject { Count: > 0 } && selector["matchExpressions"] is not JsonArray { Count: > 0 };

    /// <summary>A metav1.LabelSelector (matchLabels and matchExpressions) against a label map.</summary>
    internal static bool Matches(JsonObject selector, IReadOnlyDictionary<string, string> labels)
    {
        foreach (var (k, v) in selector["matchLabels"] as JsonObject ?? [])
        {
            if (!labels.TryGetValue(k, out var have) || have != v?.ToString())
            {
                return false;
            }
        }

        foreach (var e in (selector["matchExpressions"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var key = Json.Str(e, "key") ?? "";
            var values = Json.Strings(e["values"]).ToHashSet(StringComparer.Ordinal);
            var has = labels.TryGetValue(key, out var value);
            var ok = Json.Str(e, "operator") switch
            {
                "In" => has && values.Contains(value!),
                "NotIn" => !has || !values.Contains(value!),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static string ToMapString(Dictionary<string, string> labels) =>
        "map[string]string{" + string.Join(", ", labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"\"{kv.Key}\":\"{kv.Value}\"")) + "}";
}
