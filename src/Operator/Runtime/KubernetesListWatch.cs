using System.Net;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace BiT.Operator.Runtime;

/// <summary>
/// List and watch over KubernetesClient's generated calls. <paramref name="call"/> makes the list call with
/// watch=false, or the watch call with watch=true from a resource version (bookmarks requested).
/// </summary>
public sealed class KubernetesListWatch<T, TList>(
    Func<bool, string?, CancellationToken, Task<HttpOperationResponse<TList>>> call,
    Func<TList, ListResult<T>> unpack) : IListWatchSource<T> where T : IKubernetesObject<V1ObjectMeta>
{
    public async Task<ListResult<T>> ListAsync(CancellationToken cancellationToken)
    {
        using var response = await call(false, null, cancellationToken).ConfigureAwait(false);
        return unpack(response.Body);
    }

    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync(string resourceVersion, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Task<HttpOperationResponse<TList>> responseTask;
        try
        {
            responseTask = call(true, resourceVersion, cancellationToken);
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

    public static IListWatchSource<V1Pod> Pods(IKubernetes client, string? ns, string labelSelector) =>
        new KubernetesListWatch<V1Pod, V1PodList>(
            (watch, rv, ct) => ns is null
                ? client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(
                    allowWatchBookmarks: watch ? true : null, labelSelector: labelSelector, resourceVersion: rv,
                    timeoutSeconds: watch ? WatchTimeoutSeconds : null, watch: watch, cancellationToken: ct)
                : client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(
                    ns, allowWatchBookmarks: watch ? true : null, labelSelector: labelSelector, resourceVersion: rv,
                    timeoutSeconds: watch ? WatchTimeoutSeconds : null, watch: watch, cancellationToken: ct),
            list => new ListResult<V1Pod>(list.Items?.ToList() ?? [], list.Metadata?.ResourceVersion ?? ""));

    public static IListWatchSource<T> Custom<T>(IKubernetes client, string group, string version, string plural, string? ns)
        where T : IKubernetesObject<V1ObjectMeta> =>
        new KubernetesListWatch<T, object>(
            (watch, rv, ct) => ns is null
                ? client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync(
                    group, version, plural, allowWatchBookmarks: watch ? true : null, resourceVersion: rv,
                    timeoutSeconds: watch ? WatchTimeoutSeconds : null, watch: watch, cancellationToken: ct)
                : client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(
                    group, version, ns, plural, allowWatchBookmarks: watch ? true : null, resourceVersion: rv,
                    timeoutSeconds: watch ? WatchTimeoutSeconds : null, watch: watch, cancellationToken: ct),
            body =>
            {
                // The client hands the list over parsed as a JsonElement: read the items from it directly, not
                // through a serialized copy of the whole list (tens of MiB of string with thousands of jobs).
                var list = body is System.Text.Json.JsonElement element
                    ? KubernetesJson.Deserialize<CustomList<T>>(element)
                    : KubernetesJson.Deserialize<CustomList<T>>(KubernetesJson.Serialize(body));
                return new ListResult<T>(list.Items ?? [], list.Metadata?.ResourceVersion ?? "");
            });
}

/// <summary>The list envelope of a custom resource.</summary>
public sealed class CustomList<T>
{
    [System.Text.Json.Serialization.JsonPropertyName("metadata")]
    public V1ListMeta? Metadata { get; set; }

    [System.Text.Json.Serialization.JsonPropertyName("items")]
    public List<T>? Items { get; set; }
}
