namespace KubeEmulator;

/// <summary>One configured fault. Hits counts the requests it failed.</summary>
public sealed class FaultRule
{
    public string? Verb { get; init; }
    public string? Resource { get; init; }
    public bool WritesOnly { get; init; }
    public double Rate { get; init; }
    public int StatusCode { get; init; }
    public int RetryAfterSeconds { get; init; } = 1;
    public TimeSpan Latency { get; init; }
    public int? Remaining { get; internal set; }
    public int Hits { get; internal set; }

    internal bool Matches(string verb, string group, string resource)
    {
        if (WritesOnly && verb is not ("update" or "patch"))
        {
            return false;
        }
        if (Verb is not null && Verb != verb)
        {
            return false;
        }
        return Resource is null || Resource == resource || Resource == (group.Length == 0 ? resource : $"{resource}.{group}");
    }
}
