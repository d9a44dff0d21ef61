using System.Net;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace BiT.Operator.Runtime;

/// <summary>
/// One call of a list or watch: <see cref="Watch"/> false lists (a page of at most <see cref="Limit"/> items,
/// continuing after <see cref="Continue"/> when given); true watches from <see cref="ResourceVersion"/> (bookmarks
/// requested).
/// </summary>
public sealed record ListWatchCall(bool Watch, string? ResourceVersion, int? Limit = null, string? Continue = null);

/// <summary>One page of a list: its items, the list's resource version, and the token for the next page (null: last page).</summary>
public sealed record ListPage<T>(IReadOnlyList<T> Items, string ResourceVersion, string? Continue);

/// <summary>
/// List and watch over KubernetesClient's generated calls. The list is paged like client-go's reflector and pager:
/// pages of <paramref name="pageSize"/> items (default <see cref="ListWatchSources.DefaultPageSize"/>; 0: one unpaged request), following the server's continue token, so
/// that a big cluster's first list never materializes every object at once; each page's items go through the
/// caller's transform before the next page is read. A continue token the server no longer honours (410 Expired,
/// its snapshot compacted away) restarts the list as one full, unpaged request, as client-go's pager does.
/// The list's resource version is the last page's (the server gives every page the snapshot's version).
/// </summary>
public sealed class KubernetesListWatch<T, TList>(
    Func<ListWatchCall, CancellationToken, Task<HttpOperationResponse<TList>>> call,
    Func<TList, ListPage<T>> unpack,
    int? pageSize = null) : IListWatchSource<T> where T : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>Pages read so far, over all lists (for tests and diagnostics).</summary>
    public int Pages => Volatile.Read(ref _pages);

    /// <summary>Lists restarted as a full list because a continue token had expired.</summary>
    public int ExpiredContinues => Volatile.Read(ref _expiredContinues);

    private int _pages;
    private int _expiredContinues;

    public Task<ListResult<T>> ListAsync(CancellationToken cancellationToken) => ListAsync(static o => o, cancellationToken);

    public async Task<ListResult<T>> ListAsync(Func<T, T> transform, CancellationToken cancellationToken)
    {
        var items = new List<T>();
        var size = pageSize ?? ListWatchSources.DefaultPageSize;
        int? limit = size > 0 ? size : null;
        string? next = null;
        while (true)
        {
            ListPage<T> page;
            try
            {
                using var response = await call(new ListWatchCall(false, null, limit, next), cancellationToken).ConfigureAwait(false);
                page = unpack(response.Body);
            }
            catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Gone && next is not null)
            {
                // The snapshot behind the continue token is gone: the pages so far are not one consistent list.
                Interlocked.Increment(ref _expiredContinues);
                items.Clear();
                limit = null;
                next = null;
                continue;
            }

            Interlocked.Increment(ref _pages);
            foreach (var item in page.Items)
            {
                items.Add(transform(item));
            }

            if (string.IsNullOrEmpty(page.Continue))
            {
                return new ListResult<T>(items, page.ResourceVersion);
            }

            next = page.Continue;
        }
    }

    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync(string resourceVersion, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Task<HttpOperationResponse<TList>> responseTask;
        try
        {
            responseTask = call(new ListWatchCall(true, resourceVersion), cancellationToken);
            await responseTask.ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.Gone)
        {
            throw new ResourceExpiredException($"watch from {resourceVersion}: 410 Gone", ex);
        }

        Exception? streamError = null;
#pragma warning disable CS0618 // The extension is the documented way to stream a generated call in this client version.
        var stream = responseTask.WatchAsync<T, TList>(ex => streamError ??= ex, cancellationToken);
#pragma warning restore CS0618
        await foreach (var (type, obj) in stream.ConfigureAwait(false))
        {
            if (type == WatchEventType.Bookmark)
            {
                yield return new WatchEvent<T>(type, default, obj?.Metadata?.ResourceVersion);
                continue;
            }

            yield return new WatchEvent<T>(type, obj, obj?.Metadata?.ResourceVersion);
        }

        if (streamError is KubernetesException { Status.Code: 410 } gone)
        {
            throw new ResourceExpiredException($"watch from {resourceVersion}: {gone.Message}", gone);
        }

        if (streamError is not null)
        {
            throw new IOException($"watch from {resourceVersion} failed: {streamError.Message}", streamError);
        }
    }
}

/// <summary>Ready-made list+watch sources for the kinds the operator caches.</summary>
public static class ListWatchSources
{
    public const int WatchTimeoutSeconds = 300;

    /// <summary>
    /// 100 items a page (client-go's reflector takes 500). Large arrays outlive a list in proportion to its largest
    /// response (most likely the response buffers the client rents from the shared array pool, which keeps them), so
    /// the page size bounds what stays: restarted with 5,000 jobs, the large-object heap after a full GC was 87.6 MiB
    /// unpaged, 21.3 at 500 and 14.1 at 100 (docs/benchmarks.md).
    /// The environment variable BIT_OPERATOR_LIST_PAGE_SIZE overrides it (0: unpaged; for comparisons).
    /// </summary>
    public static int DefaultPageSize { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("BIT_OPERATOR_LIST_PAGE_SIZE"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size) ? size : 100;

    public static KubernetesListWatch<V1Pod, V1PodList> Pods(IKubernetes client, string? ns, string labelSelector, int? pageSize = null) =>
        new(
            (c, ct) => ns is null
                ? client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(
                    allowWatchBookmarks: c.Watch ? true : null, continueParameter: c.Continue, labelSelector: labelSelector, limit: c.Limit,
                    resourceVersion: c.ResourceVersion, timeoutSeconds: c.Watch ? WatchTimeoutSeconds : null, watch: c.Watch, cancellationToken: ct)
                : client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(
                    ns, allowWatchBookmarks: c.Watch ? true : null, continueParameter: c.Continue, labelSelector: labelSelector, limit: c.Limit,
                    resourceVersion: c.ResourceVersion, timeoutSeconds: c.Watch ? WatchTimeoutSeconds : null, watch: c.Watch, cancellationToken: ct),
            list => new ListPage<V1Pod>(list.Items is { } items ? [.. items] : [], list.Metadata?.ResourceVersion ?? "", list.Metadata?.ContinueProperty),
            pageSize);

    public static KubernetesListWatch<T, object> Custom<T>(IKubernetes client, string group, string version, string plural, string? ns, int? pageSize = null)
        where T : IKubernetesObject<V1ObjectMeta> =>
        Custom<T>(
            (c, ct) => ns is null
                ? client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync(
                    group, version, plural, allowWatchBookmarks: c.Watch ? true : null, continueParameter: c.Continue, limit: c.Limit,
                    resourceVersion: c.ResourceVersion, timeoutSeconds: c.Watch ? WatchTimeoutSeconds : null, watch: c.Watch, cancellationToken: ct)
                : client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(
                    group, version, ns, plural, allowWatchBookmarks: c.Watch ? true : null, continueParameter: c.Continue, limit: c.Limit,
                    resourceVersion: c.ResourceVersion, timeoutSeconds: c.Watch ? WatchTimeoutSeconds : null, watch: c.Watch, cancellationToken: ct),
            pageSize);

    /// <summary>A custom resource's list+watch over any call (tests wrap the client's call to observe or alter pages).</summary>
    public static KubernetesListWatch<T, object> Custom<T>(Func<ListWatchCall, CancellationToken, Task<HttpOperationResponse<object>>> call, int? pageSize = null)
        where T : IKubernetesObject<V1ObjectMeta> =>
        new(call, UnpackCustom<T>, pageSize);

    /// <summary>
    /// Reads a custom-object list page. The client hands it over parsed as a JsonElement: the items are read from it
    /// directly (not through a serialized copy of the page), and every JsonElement property of an item (a job's spec
    /// and status) is parsed into a small document of its own, so that no cached object refers into the page.
    /// </summary>
    public static ListPage<T> UnpackCustom<T>(object body)
    {
        var list = body is System.Text.Json.JsonElement element
            ? KubernetesJson.Deserialize<CustomList<T>>(element)
            : KubernetesJson.Deserialize<CustomList<T>>(KubernetesJson.Serialize(body));
        return new ListPage<T>(list.Items ?? [], list.Metadata?.ResourceVersion ?? "", list.Metadata?.ContinueProperty);
    }
}

/// <summary>The list envelope of a custom resource.</summary>
public sealed class CustomList<T>
{
    [System.Text.Json.Serialization.JsonPropertyName("metadata")]
    public V1ListMeta? Metadata { get; set; }

    [System.Text.Json.Serialization.JsonPropertyName("items")]
    public List<T>? Items { get; set; }
}
