namespace BiT.Trainer.Commands;

/// <summary>Adapter over the model library's weight download cache.</summary>
internal static class WeightsFetcher
{
    public static Task<string> FetchAsync(Uri url, string sha256, string cacheDirectory, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"downloading weights from {url} needs BiT.Model.WeightsCache, which is not in this build yet");
}
