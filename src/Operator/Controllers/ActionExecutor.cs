using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using BiT.Contracts;
using BiT.Operator.Api;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace BiT.Operator.Controllers;

/// <summary>
/// Applies a reconcile's decision to the API: the thin, impure half of the reconciler. Creates tolerate
/// "already exists" and deletes tolerate "not found", because names are deterministic and a crash may have
/// left either half done.
/// </summary>
public sealed class ActionExecutor(IKubernetes client, TimeProvider time, string reportingInstance)
{
    public async Task ExecuteAsync(JobKind kind, JobObject job, JobAction action, CancellationToken cancellationToken)
    {
        var ns = job.Metadata.NamespaceProperty;
        switch (action)
        {
            case EnsureObject { Object: var obj }:
                await IgnoreAsync(HttpStatusCode.Conflict, () => CreateAsync(obj, ns, cancellationToken)).ConfigureAwait(false);
                break;
            case CreatePod { Pod: var pod }:
                await IgnoreAsync(HttpStatusCode.Conflict, () => client.CoreV1.CreateNamespacedPodAsync(pod, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
                break;
            case DeletePod { Name: var name, GracePeriodSeconds: var grace }:
                await IgnoreAsync(HttpStatusCode.NotFound, () => client.CoreV1.DeleteNamespacedPodAsync(name, ns, gracePeriodSeconds: grace, cancellationToken: cancellationToken)).ConfigureAwait(false);
                break;
            case SetFinalizer { Name: var finalizer, Present: var present }:
                await SetFinalizerAsync(kind, job, finalizer, present, cancellationToken).ConfigureAwait(false);
                break;
            case SetClaimOwner { ClaimName: var claim, Owned: var owned }:
                await SetClaimOwnerAsync(job, claim, owned, cancellationToken).ConfigureAwait(false);
                break;
            case DeleteClaim { Name: var claim }:
                await IgnoreAsync(HttpStatusCode.NotFound, () => client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(claim, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
                break;
            case DeleteJob:
                await IgnoreAsync(HttpStatusCode.NotFound, () => client.CustomObjects.DeleteNamespacedCustomObjectAsync(
                    ApiInfo.Group, ApiInfo.Version, ns, kind.Plural, job.Metadata.Name, propagationPolicy: "Background", cancellationToken: cancellationToken)).ConfigureAwait(false);
                break;
            case RecordEvent e:
                await RecordAsync(job, e, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new InvalidOperationException($"unknown action {action.GetType().Name}");
        }
    }

    /// <summary>
    /// Writes the owned status fields with a merge patch guarded by the job's resource version, so that a
    /// decision made from a stale cache is refused (409) and made again, never applied twice.
    /// </summary>
    public async Task<JobObject> PatchStatusAsync(JobKind kind, JobObject job, JsonObject statusPatch, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = job.Metadata.ResourceVersion },
            ["status"] = statusPatch.DeepClone(),
        };
        var result = await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch),
            ApiInfo.Group, ApiInfo.Version, job.Metadata.NamespaceProperty, kind.Plural, job.Metadata.Name,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return KubernetesJson.Deserialize<JobObject>(KubernetesJson.Serialize(result));
    }

    /// <summary>
    /// Writes metadata.finalizers with the one finalizer added or removed, guarded by the resourceVersion the
    /// decision was made from: a list changed meanwhile (another finalizer) is refused (409) and decided again.
    /// </summary>
    private async Task SetFinalizerAsync(JobKind kind, JobObject job, string finalizer, bool present, CancellationToken cancellationToken)
    {
        var current = job.Metadata.Finalizers ?? [];
        var wanted = present ? current.Append(finalizer).Distinct(StringComparer.Ordinal).ToList() : current.Where(f => f != finalizer).ToList();
        if (wanted.Count == current.Count && wanted.SequenceEqual(current, StringComparer.Ordinal))
        {
            return;
        }

        var body = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["resourceVersion"] = job.Metadata.ResourceVersion,
                ["finalizers"] = new JsonArray([.. wanted.Select(f => (JsonNode)f)]),
            },
        };
        await IgnoreAsync(HttpStatusCode.NotFound, () => client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch),
            ApiInfo.Group, ApiInfo.Version, job.Metadata.NamespaceProperty, kind.Plural, job.Metadata.Name,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Adds or removes the job's ownerReference on a claim it created; reads first, writes only a difference.</summary>
    private async Task SetClaimOwnerAsync(JobObject job, string claimName, bool owned, CancellationToken cancellationToken)
    {
        V1PersistentVolumeClaim claim;
        try
        {
            claim = await client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(claimName, job.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return;
        }

        var refs = claim.Metadata.OwnerReferences ?? [];
        var isOwned = refs.Any(r => r.Uid == job.Metadata.Uid);
        if (isOwned == owned)
        {
            return;
        }

        var wanted = owned ? refs.Append(OwnedObjects.OwnerOf(job)).ToList() : refs.Where(r => r.Uid != job.Metadata.Uid).ToList();
        var body = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["resourceVersion"] = claim.Metadata.ResourceVersion,
                ["ownerReferences"] = JsonNode.Parse(KubernetesJson.Serialize(wanted)),
            },
        };
        await client.CoreV1.PatchNamespacedPersistentVolumeClaimAsync(
            new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch), claimName, job.Metadata.NamespaceProperty,
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task<object> CreateAsync(IKubernetesObject<V1ObjectMeta> obj, string ns, CancellationToken ct) => obj switch
    {
        V1ConfigMap cm => await client.CoreV1.CreateNamespacedConfigMapAsync(cm, ns, cancellationToken: ct).ConfigureAwait(false),
        V1PersistentVolumeClaim pvc => await client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(pvc, ns, cancellationToken: ct).ConfigureAwait(false),
        V1ServiceAccount sa => await client.CoreV1.CreateNamespacedServiceAccountAsync(sa, ns, cancellationToken: ct).ConfigureAwait(false),
        V1Role role => await client.RbacAuthorizationV1.CreateNamespacedRoleAsync(role, ns, cancellationToken: ct).ConfigureAwait(false),
        V1RoleBinding rb => await client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(rb, ns, cancellationToken: ct).ConfigureAwait(false),
        V1Service service => await client.CoreV1.CreateNamespacedServiceAsync(service, ns, cancellationToken: ct).ConfigureAwait(false),
        PodGroupObject group => await client.CustomObjects.CreateNamespacedCustomObjectAsync(
            group, group.ApiVersion.Split('/')[0], group.ApiVersion.Split('/')[1], ns, "podgroups", cancellationToken: ct).ConfigureAwait(false),
        _ => throw new InvalidOperationException($"cannot create {obj.Kind}"),
    };

    private async Task RecordAsync(JobObject job, RecordEvent e, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var evt = new Corev1Event
        {
            Metadata = new V1ObjectMeta
            {
                Name = $"{job.Metadata.Name}.{now.ToUnixTimeMilliseconds().ToString("x", CultureInfo.InvariantCulture)}{Random.Shared.Next(0x1000):x3}",
                NamespaceProperty = job.Metadata.NamespaceProperty,
            },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = job.ApiVersion,
                Kind = job.Kind,
                Name = job.Metadata.Name,
                NamespaceProperty = job.Metadata.NamespaceProperty,
                Uid = job.Metadata.Uid,
                ResourceVersion = job.Metadata.ResourceVersion,
            },
            Type = e.Type,
            Reason = e.Reason,
            Message = e.Message.Length > 1024 ? e.Message[..1024] : e.Message,
            Source = new V1EventSource { Component = "bit-operator" },
            ReportingComponent = "bit.training/bit-operator",
            ReportingInstance = reportingInstance,
            FirstTimestamp = now.UtcDateTime,
            LastTimestamp = now.UtcDateTime,
            Count = 1,
        };
        await IgnoreAsync(HttpStatusCode.Conflict, () => client.CoreV1.CreateNamespacedEventAsync(evt, job.Metadata.NamespaceProperty, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private static async Task IgnoreAsync<T>(HttpStatusCode ignored, Func<Task<T>> call)
    {
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == ignored)
        {
            // Deterministic names: already there (or already gone) is what we wanted.
        }
    }
}
