namespace BiT.Operator.Controllers;

/// <summary>The values of <c>status.phase</c>.</summary>
public static class JobPhase
{
    public const string Pending = "Pending";
    public const string Running = "Running";
    public const string Restarting = "Restarting";
    public const string Suspended = "Suspended";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";
}
