namespace BiT.Chart.Tests.Support;

/// <summary>Waits for a condition, never a fixed time.</summary>
internal static class TestWait
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {seconds} s waiting for {what}");
            }

            await Task.Delay(100);
        }
    }
}
