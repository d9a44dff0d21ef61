using BiT.Contracts.Plans;

namespace BiT.Contracts.Tests.Plans;

public sealed class TrainerExitCodesTests
{
    [Theory]
    [InlineData(0, TrainerExitKind.Succeeded, false)]
    [InlineData(2, TrainerExitKind.UsageError, false)]
    [InlineData(3, TrainerExitKind.Checkpointed, true)]
    [InlineData(4, TrainerExitKind.PermanentFailure, false)]
    [InlineData(1, TrainerExitKind.Crashed, true)]
    [InlineData(137, TrainerExitKind.Crashed, true)]
    [InlineData(143, TrainerExitKind.Crashed, true)]
    public void Exit_codes_are_classified_as_documented(int code, TrainerExitKind kind, bool retry)
    {
        Assert.Equal(kind, TrainerExitCodes.Classify(code));
        Assert.Equal(retry, TrainerExitCodes.IsRetryable(code));
    }
}
