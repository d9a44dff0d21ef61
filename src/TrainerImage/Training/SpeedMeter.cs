namespace BiT.Trainer.Training;

/// <summary>Images per second over the last few steps (the first step, with its warm-up costs, drops out quickly).</summary>
internal sealed class SpeedMeter
{
    private readonly Queue<(int Images, double Seconds)> window = new();
    private int images;
    private double seconds;

    public double Add(int batchImages, double stepSeconds)
    {
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
        images > 0 && seconds > 0 ? TimeSpan.FromSeconds(stepsLeft * batchSize * seconds / images) : null;
}
