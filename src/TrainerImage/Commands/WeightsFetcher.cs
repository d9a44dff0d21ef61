using BiT.Model;

namespace BiT.Trainer.Commands;

/// <summary>Adapter over the model library's download cache (verifies the SHA-256, reuses a cached file).</summary>
internal static class WeightsFetcher
{
    public static Task<string> FetchAsync(Uri url, string sha256, string cacheDirectory, CancellationToken cancellationToken) =>
        WeightsCache.FetchAsync(url, sha256, cacheDirectory, cancellationToken);
}
