using BiT.Contracts.Plans;
using k8s.Models;

namespace BiT.Operator.Controllers;

public enum PodEndKind
{
    /// <summary>Still pending or running.</summary>
    NotEnded,
    Succeeded,

    /// <summary>The trainer gave up for a reason a restart cannot fix.</summary>
    Permanent,

    /// <summary>Restart from the latest checkpoint.</summary>
    Retryable,
}

/// <summary>How a trainer pod ended, with the reason recorded in the restart history and Events.</summary>
public sealed record PodOutcome(PodEndKind Kind, PodEndReason Reason, int? ExitCode, string Message)
{
    private const int ExitUsage = TrainerExitCodes.Usage;
    private const int ExitCheckpointed = TrainerExitCodes.CheckpointedStop;
    private const int ExitPermanent = TrainerExitCodes.PermanentFailure;
    private const int ExitTransient = TrainerExitCodes.TransientFailure;

    public static PodOutcome Classify(V1Pod pod)
    {
        var status = pod.Status;
        var phase = status?.Phase;
        var terminated = status?.ContainerStatuses?.FirstOrDefault()?.State?.Terminated
            ?? status?.ContainerStatuses?.FirstOrDefault()?.LastState?.Terminated;
        var exitCode = terminated?.ExitCode;
        var message = (terminated?.Message ?? status?.Message ?? "").Trim();

        if (phase == "Succeeded")
        {
            return new(PodEndKind.Succeeded, PodEndReason.Completed, exitCode ?? 0, message);
        }

        if (phase != "Failed")
        {
            return new(PodEndKind.NotEnded, PodEndReason.NotEnded, null, "");
        }

        if (status?.Reason == "Evicted")
        {
            return new(PodEndKind.Retryable, PodEndReason.Evicted, exitCode, Describe(status.Message, message));
        }

        if (status?.Conditions?.FirstOrDefault(c => c.Type == "DisruptionTarget" && c.Status == "True") is { } disruption)
        {
            return new(PodEndKind.Retryable, PodEndReason.Preempted, exitCode, Describe(disruption.Reason + ": " + disruption.Message, message));
        }

        if (status?.Reason is "NodeLost" or "NodeShutdown" or "UnexpectedAdmissionError")
        {
            return new(PodEndKind.Retryable, PodEndReason.NodeLost, exitCode, Describe(status.Message, message));
        }

        if (terminated?.Reason == "OOMKilled")
        {
            return new(PodEndKind.Retryable, PodEndReason.OOMKilled, exitCode, message);
        }

        return exitCode switch
        {
            null => new(PodEndKind.Retryable, PodEndReason.PodFailed, null, Describe(status?.Reason, status?.Message)),
            ExitCheckpointed => new(PodEndKind.Retryable, PodEndReason.Checkpointed, exitCode, message),
            ExitPermanent => new(PodEndKind.Permanent, PodEndReason.TrainerFailed, exitCode, LastLine(message)),
            ExitTransient => new(PodEndKind.Retryable, PodEndReason.TrainerTransientFailure, exitCode, LastLine(message)),
            ExitUsage => new(PodEndKind.Permanent, PodEndReason.TrainerUsageError, exitCode, LastLine(message)),
            137 => new(PodEndKind.Retryable, PodEndReason.Killed, exitCode, message),
            143 => new(PodEndKind.Retryable, PodEndReason.Terminated, exitCode, message),
            >= 128 => new(PodEndKind.Retryable, PodEndReason.Signaled, exitCode, message),
            _ => new(PodEndKind.Retryable, PodEndReason.Crashed, exitCode, message),
        };
    }

    /// <summary>The trainer's last line of output says why it gave up.</summary>
    private static string LastLine(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "" : lines[^1];
    }

    private static string Describe(string? a, string? b) =>
        string.Join("; ", new[] { a, b }.Where(s => !string.IsNullOrWhiteSpace(s)));
}
