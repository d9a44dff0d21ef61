using System.Net;
using BiT.Contracts.Plans;
using BiT.Trainer.Commands;
using BiT.Trainer.Data;

namespace BiT.Trainer.Tests.Hostile;

public sealed class FailureClassifierTests
{
    public static TheoryData<string, int, string> Cases() => new()
    {
        { "enospc", TrainerExitCodes.TransientFailure, "No space left on device" },
        { "edquot", TrainerExitCodes.TransientFailure, "No space left on device" },
        { "http503", TrainerExitCodes.TransientFailure, "503" },
        { "http429", TrainerExitCodes.TransientFailure, "429" },
        { "connection-refused", TrainerExitCodes.TransientFailure, "refused" },
        { "timeout", TrainerExitCodes.TransientFailure, "timed out" },
        { "http403", TrainerExitCodes.PermanentFailure, "403" },
        { "http404", TrainerExitCodes.PermanentFailure, "404" },
        { "overflow", TrainerExitCodes.PermanentFailure, "OverflowException: Arithmetic operation resulted in an overflow." },
        { "null-reference", TrainerExitCodes.PermanentFailure, "NullReferenceException" },
        { "out-of-memory", TrainerExitCodes.PermanentFailure, "out of memory" },
        { "data", TrainerExitCodes.PermanentFailure, "bad IDX magic" },
        { "aggregate", TrainerExitCodes.PermanentFailure, "bad IDX magic" },
        { "multi-line", TrainerExitCodes.PermanentFailure, "first second" },
    };

    private static Exception Make(string name) => name switch
    {
        "enospc" => new IOException("write failed", 28),
        "edquot" => new IOException("write failed", 122),
        "http503" => new HttpRequestException("Response status code does not indicate success: 503 (Service Unavailable).", null, HttpStatusCode.ServiceUnavailable),
        "http429" => new HttpRequestException("429 (Too Many Requests)", null, HttpStatusCode.TooManyRequests),
        "connection-refused" => new HttpRequestException("Connection refused (example.org:443)"),
        "timeout" => new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout"),
        "http403" => new HttpRequestException("403 (Forbidden)", null, HttpStatusCode.Forbidden),
        "http404" => new HttpRequestException("404 (Not Found)", null, HttpStatusCode.NotFound),
        "overflow" => new OverflowException(),
        "null-reference" => new NullReferenceException(),
        "out-of-memory" => new OutOfMemoryException(),
        "data" => new DataException("x.idx: bad IDX magic number"),
        "aggregate" => new AggregateException(new DataException("x.idx: bad IDX magic number")),
        "multi-line" => new InvalidDataException("first\nsecond"),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_failure_gets_a_documented_code_and_one_line(string name, int code, string reason)
    {
        var (exitCode, line) = FailureClassifier.Classify(Make(name));
        Assert.Equal(code, exitCode);
        Assert.Contains(reason, line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain("   at ", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cancellation_that_was_asked_for_is_not_a_timeout()
    {
        using var stop = new CancellationTokenSource();
        stop.Cancel();
        Assert.Equal(TrainerExitCodes.PermanentFailure, FailureClassifier.Classify(new OperationCanceledException(), stop.Token).ExitCode);
        Assert.Equal(TrainerExitCodes.TransientFailure, FailureClassifier.Classify(new OperationCanceledException()).ExitCode);
    }

    [Fact]
    public void A_libtorch_error_is_one_line_without_its_cpp_stack()
    {
        // The shape of a libtorch error as TorchSharp raises it: the message, then the C++ frames on the same line.
        var libtorch = new System.Runtime.InteropServices.ExternalException(
            "Expected false to be true, but got false. Exception raised from toFloat at /pytorch/c10/core/Scalar.h:140 (most recent call first): frame #0: c10::Error::Error(c10::SourceLocation) + 0xb0 (0x7f in libc10.so) frame #1: c10::detail::torchCheckFail(char const*) + 0x84");
        var reason = FailureClassifier.Describe(libtorch);
        Assert.Equal("ExternalException: Expected false to be true, but got false. Exception raised from toFloat at /pytorch/c10/core/Scalar.h:140", reason);
        Assert.DoesNotContain("frame #", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_operator_retries_the_transient_code_and_not_the_permanent_one()
    {
        Assert.True(TrainerExitCodes.IsRetryable(TrainerExitCodes.TransientFailure));
        Assert.False(TrainerExitCodes.IsRetryable(TrainerExitCodes.PermanentFailure));
        Assert.Equal(TrainerExitKind.Transient, TrainerExitCodes.Classify(5));
    }

    private sealed class ThrowingCommand(Exception e) : ICommand
    {
        public string Name => "boom";

        public string Summary => "throws";

        public string Help => "throws";

        public System.CommandLine.Command Define() => new(Name, Summary);

        public Task<int> RunAsync(System.CommandLine.ParseResult parsed, CommandConsole console, CancellationToken cancellationToken) => throw e;
    }

    [Fact]
    public async Task An_unexpected_exception_in_any_command_exits_4_with_one_line_and_no_stack_trace()
    {
        var registry = new CommandRegistry { new ThrowingCommand(new IndexOutOfRangeException("Index was outside the bounds of the array.")) };
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await registry.RunAsync(["boom"], new CommandConsole(output, error), CancellationToken.None);
        Assert.Equal(TrainerExitCodes.PermanentFailure, code);
        Assert.Equal("bit-trainer boom: error: IndexOutOfRangeException: Index was outside the bounds of the array.", error.ToString().Trim());
    }

    [Fact]
    public async Task A_full_disk_in_any_command_exits_with_the_retryable_code_and_says_so()
    {
        var registry = new CommandRegistry { new ThrowingCommand(new IOException("/checkpoints/step-00000012.ckpt.tmp", 28)) };
        var error = new StringWriter();
        var code = await registry.RunAsync(["boom"], new CommandConsole(new StringWriter(), error), CancellationToken.None);
        Assert.Equal(TrainerExitCodes.TransientFailure, code);
        Assert.Contains("No space left on device", error.ToString(), StringComparison.Ordinal);
    }
}
