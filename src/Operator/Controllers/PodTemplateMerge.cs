using BiT.Contracts.Api;
using BiT.Contracts.Pods;
using k8s;
using k8s.Models;

namespace BiT.Operator.Controllers;

/// <summary>
/// Puts a job's <c>spec.podTemplate</c> and its own labels into the trainer pod the operator built, under the
/// operator's fields: labels are the job's, then the template's, then the operator's; annotations the template's,
/// then the operator's; the template's env follows the operator's and never takes a reserved name
/// (<see cref="TrainerEnv.All"/>), so it may refer to them as $(BIT_JOB_NAME); volumes and mounts are added
/// (<see cref="SpecValidator"/> has refused reserved names and paths; they are skipped here too, so that a job the
/// validator let through can never shadow what the trainer reads); sidecars run as native sidecars with the
/// restricted security the trainer has wherever they leave it unset.
/// </summary>
public static class PodTemplateMerge
{
    public static void Apply(V1Pod pod, PodTemplateSpec? template, IDictionary<string, string>? jobLabels)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var meta = pod.Metadata;
        meta.Labels = Layer(jobLabels, template?.Labels, meta.Labels);
        if (template is null)
        {
            return;
        }

        meta.Annotations = Layer(null, template.Annotations, meta.Annotations);
        var spec = pod.Spec;
        var trainer = spec.Containers.Single(c => c.Name == PodPaths.TrainerContainer);
        if (template.Affinity is not null)
        {
            spec.Affinity = Clone(template.Affinity);
        }

        if (template.ImagePullSecrets is { Count: > 0 } secrets)
        {
            spec.ImagePullSecrets = [.. secrets.Select(s => new V1LocalObjectReference { Name = s.Name })];
        }

        if (!string.IsNullOrEmpty(template.RuntimeClassName))
        {
            spec.RuntimeClassName = template.RuntimeClassName;
        }

        if (template.Env is { Count: > 0 } env)
        {
            var own = trainer.Env.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var e in env.Where(e => !TrainerEnv.All.Contains(e.Name) && !own.Contains(e.Name)))
            {
                trainer.Env.Add(Clone(e));
            }
        }

        if (template.EnvFrom is { Count: > 0 } envFrom)
        {
            trainer.EnvFrom = [.. envFrom.Select(Clone)];
        }

        var volumeNames = spec.Volumes.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var volume in template.Volumes ?? [])
        {
            if (!PodPaths.ReservedVolumeNames.Contains(volume.Name) && volumeNames.Add(volume.Name))
            {
                spec.Volumes.Add(Clone(volume));
            }
        }

        foreach (var mount in template.VolumeMounts ?? [])
        {
            if (mount.MountPath is { } path && PodPaths.MountProblem(path) is null && !PodPaths.ReservedVolumeNames.Contains(mount.Name)
                && trainer.VolumeMounts.All(m => m.MountPath != path))
            {
                trainer.VolumeMounts.Add(Clone(mount));
            }
        }

        if (template.Sidecars is { Count: > 0 } sidecars)
        {
            spec.InitContainers = [.. sidecars.Select(Sidecar)];
        }
    }

    /// <summary>Later layers win.</summary>
    private static Dictionary<string, string>? Layer(IDictionary<string, string>? first, IReadOnlyDictionary<string, string>? second, IDictionary<string, string>? own)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var layer in new IEnumerable<KeyValuePair<string, string>>?[] { first, second, own })
        {
            foreach (var (k, v) in layer ?? [])
            {
                result[k] = v;
            }
        }

        return result.Count > 0 ? result : null;
    }

    private static V1Container Sidecar(V1Container template)
    {
        var sidecar = Clone(template);
        // A native sidecar: started before the trainer and stopped after it, so that the pod ends with the trainer.
        sidecar.RestartPolicy = "Always";
        var restricted = OwnedObjects.ContainerSecurity();
        var security = sidecar.SecurityContext ??= new V1SecurityContext();
        security.RunAsNonRoot ??= restricted.RunAsNonRoot;
        security.AllowPrivilegeEscalation = false;
        security.Privileged = false;
        security.Capabilities ??= restricted.Capabilities;
        security.Capabilities.Add = null;
        security.SeccompProfile ??= restricted.SeccompProfile;
        return sidecar;
    }

    /// <summary>The pod gets its own copies: the template belongs to the job's cached spec.</summary>
    private static T Clone<T>(T value) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(value));
}
