using BiT.Contracts.Api;
using BiT.Operator.Api;

namespace BiT.Operator.Controllers;

/// <summary>
/// Condition transitions on the operator's status model: the transition time moves only when the status flips.
/// The type names are the contracts' <see cref="ConditionTypes"/>.
/// </summary>
public static class ConditionSet
{
    public const string Validated = ConditionTypes.Validated;
    public const string Running = ConditionTypes.Running;
    public const string Stalled = ConditionTypes.Stalled;
    public const string Restarting = ConditionTypes.Restarting;
    public const string Suspended = ConditionTypes.Suspended;
    public const string Succeeded = ConditionTypes.Succeeded;
    public const string Failed = ConditionTypes.Failed;

    public static IReadOnlyList<JobCondition> Set(
        IReadOnlyList<JobCondition> conditions,
        string type,
        bool status,
        string reason,
        string message,
        DateTimeOffset now,
        long generation)
    {
        var value = status ? "True" : "False";
        var list = conditions.ToList();
        var index = list.FindIndex(c => c.Type == type);
        var time = index >= 0 && list[index].Status == value ? list[index].LastTransitionTime : JobStatus.FormatTime(now);
        var condition = new JobCondition(type, value, reason, message, time, generation);
        if (index >= 0)
        {
            list[index] = condition;
        }
        else
        {
            list.Add(condition);
        }

        return list;
    }

    /// <summary>Sets the condition only if it is already present (a False that was never True stays absent).</summary>
    public static IReadOnlyList<JobCondition> ClearIfPresent(
        IReadOnlyList<JobCondition> conditions, string type, string reason, DateTimeOffset now, long generation) =>
        conditions.Any(c => c.Type == type && c.Status == "True")
            ? Set(conditions, type, false, reason, "", now, generation)
            : conditions;
}
