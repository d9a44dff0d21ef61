using System.Net;
using System.Net.Sockets;
using BiT.Contracts.Plans;

namespace BiT.Trainer.Commands;

/// <summary>
/// Maps every exception that ends a command to a documented exit code and one line naming the cause
/// (docs/api.md, "Trainer exit codes"). Anything not known to be transient is permanent: an unforeseen exception
/// is almost always deterministic (the same input fails the same way), so retrying it would only burn restarts.
/// </summary>
public static class FailureClassifier
{
    // Linux errno values that .NET puts into IOException.HResult for file-system failures.
    private const int Enospc = 28;
    private const int Edquot = 122;

    /// <summary>The exit code and the one-line reason for an exception that ended a command.</summary>
    public static (int ExitCode, string Reason) Classify(Exception exception, CancellationToken stop = default)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var e = Unwrap(exception);
        if (IsTransient(e, stop))
        {
            return (TrainerExitCodes.TransientFailure, Describe(e));
        }
        return (TrainerExitCodes.PermanentFailure, Describe(e));
    }

    /// <summary>True for failures that another attempt can get past: a full disk, a server error, a timeout.</summary>
    public static bool IsTransient(Exception exception, CancellationToken stop = default)
    {
        var e = Unwrap(exception);
        return e switch
        {
            TransientFailureException => true,
            BiT.Model.WeightsPolicyException => false,
            IOException io when IsDiskFull(io) => true,
            HttpRequestException http => http.StatusCode is null or >= HttpStatusCode.InternalServerError
                or HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests,
            TimeoutException or SocketException => true,
            // A cancellation nobody asked for is a timeout (HttpClient reports its timeout this way).
            OperationCanceledException => !stop.IsCancellationRequested,
            _ => e.InnerException is { } inner && inner != e && IsTransient(inner, stop),
        };
    }

    /// <summary>ENOSPC or EDQUOT, whatever the wrapping message says.</summary>
    public static bool IsDiskFull(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is IOException { HResult: Enospc or Edquot } || e.Message.Contains("No space left on device", StringComparison.Ordinal)
                || e.Message.Contains("Disk quota exceeded", StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>One line: the message, with the kind of failure where the message alone would not say it.</summary>
    public static string Describe(Exception exception)
    {
        var e = Unwrap(exception);
        var message = OneLine(e.Message);
        if (IsDiskFull(e) && !message.Contains("No space left on device", StringComparison.Ordinal)
            && !message.Contains("Disk quota exceeded", StringComparison.Ordinal))
        {
            message = $"No space left on device: {message}";
        }
        return e switch
        {
            // The project's own exceptions carry sentences written for the user.
            BiT.Contracts.Api.ManifestException or PlanException or BiT.Trainer.Data.DataException
                or BiT.Trainer.Training.TrainingFailedException or BiT.Trainer.Checkpoints.CorruptCheckpointException
                or TransientFailureException or BiT.Model.WeightsPolicyException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
                or UnauthorizedAccessException or IOException or HttpRequestException => message,
            OutOfMemoryException or InsufficientMemoryException => $"out of memory: {message} (a smaller batchSize or batchSplit > 1 needs less)",
            OperationCanceledException => $"timed out: {message}",
            TimeoutException => $"timed out: {message}",
            _ => $"{e.GetType().Name}: {message}",
        };
    }

    private static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            e = aggregate.InnerExceptions[0];
        }
        while (e is System.Reflection.TargetInvocationException { InnerException: { } inner })
        {
            e = inner;
        }
        return e;
    }

    private static string OneLine(string message)
    {
        var line = message.ReplaceLineEndings(" ").Trim();
        // libtorch appends its C++ stack to the message ("... (most recent call first): frame #0: ..."): a stack
        // trace, which belongs in debug output only (BIT_DEBUG=1 prints the whole exception).
        var stack = line.IndexOf(" (most recent call first):", StringComparison.Ordinal);
        if (stack > 0)
        {
            line = line[..stack].Trim();
        }
        return line.Length == 0 ? "(no message)" : line;
    }
}
