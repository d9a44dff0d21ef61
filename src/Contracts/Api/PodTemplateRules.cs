using BiT.Contracts.Pods;
using k8s.Models;

namespace BiT.Contracts.Api;

/// <summary>
/// What <c>spec.podTemplate</c> may not do, because the trainer pod would then not start or not work: take a volume
/// name the pod uses, mount over a path the pod uses, mount a volume nobody declared, name a sidecar like the
/// trainer, or ask for privileges the restricted pod security does not give. Conflicts that the operator settles by
/// keeping its own value (env names, labels, annotations) are not errors.
/// </summary>
internal static class PodTemplateRules
{
    private const string P = "spec.podTemplate";

    public static void Check(BiTJobSpec spec, PodTemplateSpec template, List<FieldError> errors)
    {
        CheckMap(template.Labels, "labels", label: true, errors);
        CheckMap(template.Annotations, "annotations", label: false, errors);

        for (var i = 0; i < (template.ImagePullSecrets?.Count ?? 0); i++)
        {
            if (template.ImagePullSecrets![i]?.Name is not { Length: > 0 } secret || !SpecValidator.Matches(secret, ApiPatterns.DnsSubdomain))
            {
                errors.Add(new FieldError($"{P}.imagePullSecrets[{i}].name", "required: the name of a Secret (a DNS-1123 subdomain)"));
            }
        }

        for (var i = 0; i < (template.Env?.Count ?? 0); i++)
        {
            if (template.Env![i]?.Name is not { Length: > 0 } name || name.Contains('='))
            {
                errors.Add(new FieldError($"{P}.env[{i}].name", "required: a variable name without '='"));
            }
        }

        for (var i = 0; i < (template.EnvFrom?.Count ?? 0); i++)
        {
            var source = template.EnvFrom![i];
            if ((source?.ConfigMapRef is null) == (source?.SecretRef is null))
            {
                errors.Add(new FieldError($"{P}.envFrom[{i}]", "give configMapRef or secretRef, exactly one"));
            }
        }

        var volumes = CheckVolumes(template.Volumes, errors);
        CheckMounts(template.VolumeMounts, $"{P}.volumeMounts", volumes, podVolumes: [], spec, errors);

        var podVolumes = new HashSet<string>(StringComparer.Ordinal) { PodPaths.PlanVolume, PodPaths.TmpVolume, PodPaths.CheckpointsVolume };
        if (spec.Dataset?.Volume is not null)
        {
            podVolumes.Add(PodPaths.DatasetVolume);
        }

        if (spec.Model?.Weights?.FromPretrainJob is not null)
        {
            podVolumes.Add(PodPaths.PretrainedVolume);
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (template.Sidecars?.Count ?? 0); i++)
        {
            var path = $"{P}.sidecars[{i}]";
            var sidecar = template.Sidecars![i];
            if (sidecar?.Name is not { Length: > 0 } name || name.Length > 63 || !SpecValidator.Matches(name, ApiPatterns.DnsLabel))
            {
                errors.Add(new FieldError($"{path}.name", "required: a DNS-1123 label (at most 63 lowercase letters, digits and '-')"));
            }
            else if (name == PodPaths.TrainerContainer)
            {
                errors.Add(new FieldError($"{path}.name", $"'{PodPaths.TrainerContainer}' is the trainer's container"));
            }
            else if (!names.Add(name))
            {
                errors.Add(new FieldError($"{path}.name", $"'{name}' names two sidecars"));
            }

            if (sidecar is null)
            {
                continue;
            }

            if (string.IsNullOrEmpty(sidecar.Image))
            {
                errors.Add(new FieldError($"{path}.image", "required"));
            }

            if (sidecar.SecurityContext is { } security)
            {
                if (security.Privileged == true)
                {
                    errors.Add(new FieldError($"{path}.securityContext.privileged", "must not be true: the trainer pod runs under the restricted Pod Security Standard"));
                }

                if (security.AllowPrivilegeEscalation == true)
                {
                    errors.Add(new FieldError($"{path}.securityContext.allowPrivilegeEscalation", "must not be true: the trainer pod runs under the restricted Pod Security Standard"));
                }

                if (security.Capabilities?.Add is { Count: > 0 })
                {
                    errors.Add(new FieldError($"{path}.securityContext.capabilities.add", "must be empty: the trainer pod runs under the restricted Pod Security Standard"));
                }
            }

            if (sidecar.RestartPolicy is { } restart && restart != "Always")
            {
                errors.Add(new FieldError($"{path}.restartPolicy", $"must be Always or left out (a sidecar runs as long as the trainer), got '{restart}'"));
            }

            CheckMounts(sidecar.VolumeMounts?.ToList(), $"{path}.volumeMounts", volumes, podVolumes, spec: null, errors);
        }
    }

    private static void CheckMap(IReadOnlyDictionary<string, string>? map, string field, bool label, List<FieldError> errors)
    {
        foreach (var (key, value) in map ?? new Dictionary<string, string>())
        {
            if (!SpecValidator.IsLabelKey(key))
            {
                errors.Add(new FieldError($"{P}.{field}[{key}]", "the key must be a label key (an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends)"));
            }
            else if (label && !SpecValidator.IsLabelValue(value))
            {
                errors.Add(new FieldError($"{P}.{field}[{key}]", $"the value must be a label value (at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends), got '{value}'"));
            }
        }
    }

    private static HashSet<string> CheckVolumes(IReadOnlyList<V1Volume>? volumes, List<FieldError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (volumes?.Count ?? 0); i++)
        {
            var path = $"{P}.volumes[{i}]";
            var volume = volumes![i];
            if (volume?.Name is not { Length: > 0 } name || name.Length > 63 || !SpecValidator.Matches(name, ApiPatterns.DnsLabel))
            {
                errors.Add(new FieldError($"{path}.name", "required: a DNS-1123 label (at most 63 lowercase letters, digits and '-')"));
            }
            else if (PodPaths.ReservedVolumeNames.Contains(name))
            {
                errors.Add(new FieldError($"{path}.name", $"'{name}' is a volume of the trainer pod itself; choose another name (reserved: {string.Join(", ", PodPaths.ReservedVolumeNames)})"));
            }
            else if (!names.Add(name))
            {
                errors.Add(new FieldError($"{path}.name", $"'{name}' names two volumes"));
            }

            var sources = volume is null ? 0 : typeof(V1Volume).GetProperties().Count(p => p.Name != nameof(V1Volume.Name) && p.GetValue(volume) is not null);
            if (volume is not null && sources != 1)
            {
                errors.Add(new FieldError(path, $"give exactly one volume source (configMap, secret, emptyDir, persistentVolumeClaim, ...), got {sources}"));
            }
        }

        return names;
    }

    /// <summary>
    /// Mounts of the trainer (<paramref name="spec"/> given: only the template's volumes, never over the pod's own
    /// paths or the dataset's) or of a sidecar (also the pod's own volumes, anywhere in its own filesystem).
    /// </summary>
    private static void CheckMounts(IReadOnlyList<V1VolumeMount>? mounts, string field, HashSet<string> volumes, HashSet<string> podVolumes, BiTJobSpec? spec, List<FieldError> errors)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (mounts?.Count ?? 0); i++)
        {
            var path = $"{field}[{i}]";
            var mount = mounts![i];
            if (mount?.Name is not { Length: > 0 } name)
            {
                errors.Add(new FieldError($"{path}.name", "required: the name of a volume in spec.podTemplate.volumes"));
            }
            else if (!volumes.Contains(name) && !podVolumes.Contains(name))
            {
                errors.Add(new FieldError($"{path}.name", podVolumes.Count == 0 && PodPaths.ReservedVolumeNames.Contains(name)
                    ? $"'{name}' is mounted by the operator itself; the trainer mounts only volumes of spec.podTemplate.volumes"
                    : $"'{name}' is not a volume of spec.podTemplate.volumes{(podVolumes.Count > 0 ? " nor of the pod (" + string.Join(", ", podVolumes.Order(StringComparer.Ordinal)) + ")" : "")}"));
            }

            if (mount?.MountPath is not { Length: > 0 } mountPath)
            {
                errors.Add(new FieldError($"{path}.mountPath", "required: an absolute path"));
                continue;
            }

            if (!paths.Add(mountPath))
            {
                errors.Add(new FieldError($"{path}.mountPath", $"'{mountPath}' is mounted twice"));
            }

            if (spec is null)
            {
                if (!mountPath.StartsWith('/'))
                {
                    errors.Add(new FieldError($"{path}.mountPath", $"must be an absolute path; got '{mountPath}'"));
                }

                continue;
            }

            if (PodPaths.MountProblem(mountPath) is { } problem)
            {
                errors.Add(new FieldError($"{path}.mountPath", $"{problem}; got '{mountPath}'"));
            }
            else if (spec.Dataset is { Volume: not null, Path: { Length: > 0 } dataPath }
                && (mountPath == dataPath || dataPath.StartsWith(mountPath + "/", StringComparison.Ordinal) || mountPath.StartsWith(dataPath + "/", StringComparison.Ordinal)))
            {
                errors.Add(new FieldError($"{path}.mountPath", $"must not be at, above or inside spec.dataset.path ({dataPath}), where the dataset claim is mounted; got '{mountPath}'"));
            }
        }
    }
}
