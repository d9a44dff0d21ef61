using BiT.Contracts.Api;

namespace BiT.Contracts.Tests.Plans;

public sealed class ConditionRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, 500, TimeSpan.Zero);
    private static readonly DateTimeOffset T1 = T0.AddMinutes(5);

    [Fact]
    public void A_new_condition_is_added_with_the_time_in_whole_seconds()
    {
        var list = ConditionRules.Set(null, ConditionTypes.Validated, ConditionStatus.True, "SpecValid", null, 1, T0);
        var c = Assert.Single(list);
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero), c.LastTransitionTime);
        Assert.Equal(1, c.ObservedGeneration);
    }

    [Fact]
    public void Same_status_keeps_the_transition_time_but_updates_reason_and_message()
    {
        var list = ConditionRules.Set(null, ConditionTypes.Running, ConditionStatus.True, "PodRunning", "a", 1, T0);
        var again = ConditionRules.Set(list, ConditionTypes.Running, ConditionStatus.True, "PodRunning", "b", 2, T1);
        var c = Assert.Single(again);
        Assert.Equal(list[0].LastTransitionTime, c.LastTransitionTime);
        Assert.Equal("b", c.Message);
        Assert.Equal(2, c.ObservedGeneration);
    }

    [Fact]
    public void Status_change_moves_the_transition_time()
    {
        var list = ConditionRules.Set(null, ConditionTypes.Running, ConditionStatus.True, "PodRunning", null, 1, T0);
        var changed = ConditionRules.Set(list, ConditionTypes.Running, ConditionStatus.False, "PodGone", null, 1, T1);
        Assert.Equal(KubeTimeJsonConverter.Normalize(T1), Assert.Single(changed).LastTransitionTime);
    }

    [Fact]
    public void Nothing_changed_returns_the_same_instance()
    {
        var list = ConditionRules.Set(null, ConditionTypes.Running, ConditionStatus.True, "PodRunning", "m", 1, T0);
        Assert.Same(list, ConditionRules.Set(list, ConditionTypes.Running, ConditionStatus.True, "PodRunning", "m", 1, T1));
        Assert.Same(list, ConditionRules.Remove(list, ConditionTypes.Stalled));
    }

    [Fact]
    public void Other_types_are_left_alone_and_remove_works()
    {
        var list = ConditionRules.Set(null, ConditionTypes.Validated, ConditionStatus.True, "SpecValid", null, 1, T0);
        list = ConditionRules.Set(list, ConditionTypes.Stalled, ConditionStatus.True, "NoProgress", null, 1, T1);
        Assert.Equal([ConditionTypes.Validated, ConditionTypes.Stalled], list.Select(c => c.Type));
        Assert.True(ConditionRules.IsTrue(list, ConditionTypes.Stalled));
        list = ConditionRules.Remove(list, ConditionTypes.Stalled);
        Assert.False(ConditionRules.IsTrue(list, ConditionTypes.Stalled));
        Assert.NotNull(ConditionRules.Find(list, ConditionTypes.Validated));
    }

    [Fact]
    public void Bad_status_is_rejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ConditionRules.Set(null, "X", "true", "R", null, null, T0));

    [Fact]
    public void Restart_history_is_bounded_keeping_the_newest()
    {
        IReadOnlyList<RestartRecord>? history = null;
        for (var i = 0; i < 25; i++)
        {
            history = ConditionRules.AppendRestart(history, new RestartRecord { Reason = "Evicted", ResumedFromStep = i });
        }

        Assert.Equal(BiTJobStatus.MaxRestartHistory, history!.Count);
        Assert.Equal(5, history[0].ResumedFromStep);
        Assert.Equal(24, history[^1].ResumedFromStep);
    }
}
