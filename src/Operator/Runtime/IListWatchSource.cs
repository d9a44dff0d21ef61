using k8s;

namespace BiT.Operator.Runtime;

/// <summary>One kind's list and watch calls, so that the informer logic is testable without a server.</summary>
public interface IListWatchSource<T>
{
    Task<ListResult<T>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Lists with <paramref name="transform"/> applied to every item as it is read, so that a paged source never
    /// holds more than one page of untransformed objects. By default: the whole list, then the transform.
    /// </summary>
    async Task<ListResult<T>> ListAsync(Func<T, T> transform, CancellationToken cancellationToken)
    {
        var result = await ListAsync(cancellationToken).ConfigureAwait(false);
        return new ListResult<T>([.. result.Items.Select(transform)], result.ResourceVersion);
    }

    /// <summary>
    /// Streams events after <paramref name="resourceVersion"/>; ends when the server closes the watch.
    /// Throws <see cref="ResourceExpiredException"/> when the version is too old (410 Gone).
    /// </summary>
    IAsyncEnumerable<WatchEvent<T>> WatchAsync(string resourceVersion, CancellationToken cancellationToken);
}

public sealed record ListResult<T>(IReadOnlyList<T> Items, string ResourceVersion);

/// <summary>A watch event; for a bookmark only the resource version is meaningful.</summary>
public sealed record WatchEvent<T>(WatchEventType Type, T? Object, string? ResourceVersion);

/// <summary>The server answered 410 Gone: the informer must list again.</summary>
public sealed class ResourceExpiredException : Exception
{
    public ResourceExpiredException()
    {
    }

    public ResourceExpiredException(string message) : base(message)
    {
    }

    public ResourceExpiredException(string message, Exception inner) : base(message, inner)
    {
    }
}
