using System.Text.Json.Nodes;
using BiT.Contracts.Api;

namespace BiT.Operator.Controllers;

/// <summary>
/// What a reconcile decided: actions in order, the new status and the merge patch that writes it (null when the
/// status did not change), and when to look again (null: only when something changes).
/// </summary>
public sealed record ReconcileDecision(
    IReadOnlyList<JobAction> Actions,
    BiTJobStatus Status,
    JsonObject? StatusPatch,
    TimeSpan? RequeueAfter);
