namespace BiT.Trainer.Training;

/// <summary>
/// Images per second over the last few steps. The first step of a process (kernel selection, first allocations, the
/// pipeline filling up) is reported at its own rate but kept out of the window, so the figure is the steady one.
/// </summary>
internal sealed class SpeedMeter
{
    private bool warmedUp;
    private readonly Queue<(int Images, double Seconds)> window = new();
    private int images;
    private double seconds;

    public double Add(int batchImages, double stepSeconds)
    {
        if (!warmedUp)
        {
            warmedUp = true;
            return stepSeconds > 0 ? batchImages / stepSeconds : 0;
        }
        window.Enqueue((batchImages, stepSeconds));
        images += batchImages;
        seconds += stepSeconds;
        if (window.Count > 20)
        {
            var (i, s) = window.Dequeue();
            images -= i;
            seconds -= s;
        }
        return seconds > 0 ? images / seconds : 0;
    }

    public TimeSpan? Eta(int stepsLeft, int batchSize) =>
        // Before a steady step exists there is no estimate.
        images > 0 && seconds > 0 ? TimeSpan.FromSeconds(stepsLeft * batchSize * seconds / images) : null;
}
