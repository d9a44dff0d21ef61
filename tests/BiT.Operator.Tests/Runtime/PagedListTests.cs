using System.Text.Json;
using BiT.Contracts;
using BiT.Operator.Api;
using BiT.Operator.Runtime;
using BiT.Operator.Tests.Controllers;
using BiT.Operator.Tests.EndToEnd;
using k8s;
using k8s.Autorest;
using k8s.Models;
using KubeEmulator;
using Microsoft.Extensions.Logging.Abstractions;

namespace BiT.Operator.Tests.Runtime;

/// <summary>The informers' initial list against the emulator: paged, with the list's resource version, and a full list when a continue token expires.</summary>
public sealed class PagedListTests
{
    private const string Selector = "app=paged";

    private static async Task CreatePodAsync(Kubernetes admin, string name) =>
        await admin.CoreV1.CreateNamespacedPodAsync(
            new V1Pod
            {
                Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["app"] = "paged" } },
                Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox" }] },
            },
            TestCluster.Namespace);

    /// <summary>The client's pod list call, with a hook that runs before each request (to write between pages).</summary>
    private static KubernetesListWatch<V1Pod, V1PodList> PodSource(Kubernetes client, int pageSize, List<ListWatchCall> calls, Func<ListWatchCall, Task>? before = null, List<string>? pageVersions = null) =>
        new(
            async (c, ct) =>
            {
                calls.Add(c);
                if (before is not null)
                {
                    await before(c);
                }

                return await client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(
                    TestCluster.Namespace, allowWatchBookmarks: c.Watch ? true : null, continueParameter: c.Continue, labelSelector: Selector, limit: c.Limit,
                    resourceVersion: c.ResourceVersion, timeoutSeconds: c.Watch ? 30 : null, watch: c.Watch, cancellationToken: ct);
            },
            list =>
            {
                pageVersions?.Add(list.Metadata.ResourceVersion);
                return new ListPage<V1Pod>([.. list.Items], list.Metadata.ResourceVersion, list.Metadata.ContinueProperty);
            },
            pageSize);

    [Fact]
    public async Task The_list_follows_every_page_and_the_informer_watches_from_the_lists_version()
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions());
        for (var i = 0; i < 7; i++)
        {
            await CreatePodAsync(cluster.Admin, $"p-{i}");
        }

        var calls = new List<ListWatchCall>();
        var pageVersions = new List<string>();
        var wroteBetweenPages = false;
        var source = PodSource(
            cluster.Admin,
            3,
            calls,
            async c =>
            {
                // A write between two pages; "a-late" sorts before the pages' cursor, so only the watch from the
                // list's version can bring it.
                if (!c.Watch && c.Continue is not null && !wroteBetweenPages)
                {
                    wroteBetweenPages = true;
                    await CreatePodAsync(cluster.Admin, "a-late");
                }
            },
            pageVersions);

        var informer = new Informer<V1Pod>("pods", source, TimeProvider.System, TimeSpan.Zero, NullLogger.Instance);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(stop.Token);
        await TestCluster.WaitUntilAsync(() => Task.FromResult(informer.Count == 8), TimeSpan.FromSeconds(15), "the pod written between pages to arrive by the watch");

        // Three pages of at most 3, each request after the first carrying the previous page's token.
        var lists = calls.Where(c => !c.Watch).ToList();
        Assert.Equal(3, lists.Count);
        Assert.All(lists, c => Assert.Equal(3, c.Limit));
        Assert.Null(lists[0].Continue);
        Assert.All(lists.Skip(1), c => Assert.False(string.IsNullOrEmpty(c.Continue)));
        Assert.Equal(3, source.Pages);
        Assert.Equal(1, informer.ListCount);

        // Every page carries the snapshot's version; the watch starts from it (the last page's), which is older than
        // the pod written between pages, so the watch delivers that pod.
        Assert.Equal(3, pageVersions.Count);
        Assert.Single(pageVersions.Distinct());
        Assert.Equal(pageVersions[^1], calls.First(c => c.Watch).ResourceVersion);
        var late = informer.Get(TestCluster.Namespace, "a-late");
        Assert.NotNull(late);
        Assert.True(long.Parse(late.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(pageVersions[^1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"p-{i}").Prepend("a-late").Order(StringComparer.Ordinal), informer.List().Select(p => p.Metadata.Name).Order(StringComparer.Ordinal));
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task An_expired_continue_token_restarts_the_list_as_one_full_list()
    {
        // A short watch history: a few writes between two pages compact the first page's snapshot away.
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions { WatchHistory = 5 });
        for (var i = 0; i < 5; i++)
        {
            await CreatePodAsync(cluster.Admin, $"p-{i}");
        }

        var calls = new List<ListWatchCall>();
        var churned = false;
        var source = PodSource(cluster.Admin, 2, calls, async c =>
        {
            if (c.Continue is not null && !churned)
            {
                churned = true;
                for (var i = 5; i < 12; i++)
                {
                    await CreatePodAsync(cluster.Admin, $"p-{i}");
                }
            }
        });

        var result = await source.ListAsync(CancellationToken.None);

        Assert.Equal(1, source.ExpiredContinues);
        // Page one (2 items), the expired continue, then one request without limit or token.
        Assert.Equal(3, calls.Count);
        Assert.Equal((2, (string?)null), (calls[0].Limit!.Value, calls[0].Continue));
        Assert.NotNull(calls[1].Continue);
        Assert.Equal((null, null), (calls[2].Limit, calls[2].Continue));
        // Every pod once, none of the expired attempt's page left over, and the full list's version.
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"p-{i}").Order(StringComparer.Ordinal), result.Items.Select(p => p.Metadata.Name).Order(StringComparer.Ordinal));
        var current = (await cluster.Admin.CoreV1.ListNamespacedPodAsync(TestCluster.Namespace)).Metadata.ResourceVersion;
        Assert.Equal(current, result.ResourceVersion);
    }

    [Fact]
    public async Task A_410_on_the_first_page_is_not_a_continue_and_is_not_retried_as_one()
    {
        var calls = 0;
        var source = new KubernetesListWatch<V1Pod, V1PodList>(
            (_, _) =>
            {
                calls++;
                throw new HttpOperationException("gone") { Response = new HttpResponseMessageWrapper(new HttpResponseMessage(System.Net.HttpStatusCode.Gone), "") };
            },
            list => new ListPage<V1Pod>([.. list.Items], list.Metadata.ResourceVersion, list.Metadata.ContinueProperty));
        await Assert.ThrowsAsync<HttpOperationException>(() => source.ListAsync(CancellationToken.None));
        Assert.Equal(1, calls);
        Assert.Equal(0, source.ExpiredContinues);
    }

    [Fact]
    public async Task Cached_jobs_own_their_json_and_keep_no_page_document_alive()
    {
        await using var cluster = await TestCluster.StartAsync(new EmulatorOptions());
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < 5; i++)
        {
            var created = await cluster.CreateJobAsync(JobKind.FineTune, $"job-{i}", JobFixtures.Spec());
            expected[created.Metadata.Name] = created.Spec.GetRawText();
        }

        // Each page reaches the source as a document this test owns and disposes once the list is read: a job that
        // referred into its page would then throw (a disposed JsonDocument) or read another page's bytes.
        var pages = new List<JsonDocument>();
        var source = ListWatchSources.Custom<JobObject>(
            async (c, ct) =>
            {
                var response = await cluster.Admin.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync(
                    ApiInfo.Group, ApiInfo.Version, TestCluster.Namespace, JobKind.FineTune.Plural, continueParameter: c.Continue, limit: c.Limit, cancellationToken: ct);
                var page = JsonDocument.Parse(((JsonElement)response.Body).GetRawText());
                pages.Add(page);
                return new HttpOperationResponse<object> { Body = page.RootElement, Request = response.Request, Response = response.Response };
            },
            pageSize: 2);
        var informer = new Informer<JobObject>("jobs", source, TimeProvider.System, TimeSpan.Zero, NullLogger.Instance);
        await informer.RelistAsync(CancellationToken.None);
        Assert.Equal(3, pages.Count);
        foreach (var page in pages)
        {
            page.Dispose();
        }

        // Reuse the pooled buffers the disposed pages gave back, so stale references would read garbage.
        using (JsonDocument.Parse(new string(' ', 1 << 16) + "{}"))
        {
        }

        Assert.Equal(5, informer.Count);
        foreach (var job in informer.List())
        {
            Assert.Equal(expected[job.Metadata.Name], job.Spec.GetRawText());
            Assert.Equal("R50x1", job.Spec.GetProperty("model").GetProperty("architecture").GetString());
        }
    }
}
