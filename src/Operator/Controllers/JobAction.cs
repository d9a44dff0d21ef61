using k8s;
using k8s.Models;

namespace BiT.Operator.Controllers;

/// <summary>One change a reconcile wants made; the executor applies them in order.</summary>
public abstract record JobAction;

/// <summary>Create the object unless it exists (a conflict means it does: deterministic names).</summary>
public sealed record EnsureObject(IKubernetesObject<V1ObjectMeta> Object) : JobAction;

public sealed record CreatePod(V1Pod Pod) : JobAction;

/// <summary>Delete a pod, giving the trainer this long after SIGTERM to write its checkpoint.</summary>
public sealed record DeletePod(string Name, int GracePeriodSeconds) : JobAction;

/// <summary>Add or remove the job's finalizer (a merge patch guarded by the job's resourceVersion).</summary>
public sealed record SetFinalizer(string Name, bool Present) : JobAction;

/// <summary>Make the job the owner of a claim it created, or not (onDelete changed); a write only if it differs.</summary>
public sealed record SetClaimOwner(string ClaimName, bool Owned) : JobAction;

/// <summary>Delete a claim the job owns (runPolicy.cleanupSecondsAfterFinished); already gone is done.</summary>
public sealed record DeleteClaim(string Name) : JobAction;

/// <summary>Delete the job itself (ttlSecondsAfterFinished); owned objects follow through ownerReferences.</summary>
public sealed record DeleteJob : JobAction;

public sealed record RecordEvent(string Type, string Reason, string Message) : JobAction
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";
}
