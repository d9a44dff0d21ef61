using BiT.Operator.Api;

namespace BiT.Operator.Controllers;

/// <summary>Condition transitions: the transition time moves only when the status flips.</summary>
public static class ConditionSet
{
    public const string Validated = "Validated";
    public const string Running = "Running";
    public const string Stalled = "Stalled";
    public const string Restarting = "Restarting";
    public const string Suspended = "Suspended";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";

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
