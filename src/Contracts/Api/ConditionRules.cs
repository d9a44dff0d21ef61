namespace BiT.Contracts.Api;

/// <summary>
/// Pure functions over <c>status.conditions</c>, following the API conventions: one condition per type, and
/// <c>lastTransitionTime</c> moves only when the status changes. When nothing changes the same list instance
/// comes back, so a reconciler can tell that it has nothing to write.
/// </summary>
public static class ConditionRules
{
    /// <summary>The condition of a type, or null.</summary>
    public static Condition? Find(IReadOnlyList<Condition>? conditions, string type) =>
        conditions?.FirstOrDefault(c => c.Type == type);

    /// <summary>True when the condition of that type has status True.</summary>
    public static bool IsTrue(IReadOnlyList<Condition>? conditions, string type) =>
        Find(conditions, type)?.Status == ConditionStatus.True;

    /// <summary>
    /// Sets a condition. A new type is appended; an existing one keeps its lastTransitionTime unless the status
    /// changes; reason, message and observedGeneration are updated either way. Times are kept as whole seconds
    /// (as the API server stores them).
    /// </summary>
    public static IReadOnlyList<Condition> Set(
        IReadOnlyList<Condition>? conditions,
        string type,
        string status,
        string reason,
        string? message,
        long? observedGeneration,
        DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        if (status is not (ConditionStatus.True or ConditionStatus.False or ConditionStatus.Unknown))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, $"status must be True, False or Unknown, got '{status}'");
        }

        var list = conditions ?? [];
        var index = -1;
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].Type == type)
            {
                index = i;
                break;
            }
        }

        var existing = index >= 0 ? list[index] : null;
        var updated = new Condition
        {
            Type = type,
            Status = status,
            Reason = reason,
            Message = message,
            ObservedGeneration = observedGeneration,
            LastTransitionTime = existing is not null && existing.Status == status
                ? existing.LastTransitionTime
                : KubeTimeJsonConverter.Normalize(now),
        };
        if (existing == updated)
        {
            return list;
        }

        var result = list.ToList();
        if (index >= 0)
        {
            result[index] = updated;
        }
        else
        {
            result.Add(updated);
        }

        return result;
    }

    /// <summary>Removes a condition type; the same instance when it was not there.</summary>
    public static IReadOnlyList<Condition> Remove(IReadOnlyList<Condition>? conditions, string type)
    {
        var list = conditions ?? [];
        return list.Any(c => c.Type == type) ? list.Where(c => c.Type != type).ToList() : list;
    }

    /// <summary>Appends a restart record, keeping only the newest <paramref name="max"/>.</summary>
    public static IReadOnlyList<RestartRecord> AppendRestart(
        IReadOnlyList<RestartRecord>? history, RestartRecord record, int max = BiTJobStatus.MaxRestartHistory)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        var list = (history ?? []).Append(record).ToList();
        return list.Count > max ? list.Skip(list.Count - max).ToList() : list;
    }
}
