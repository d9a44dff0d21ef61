using System.Net;
using BiT.Operator.Runtime;
using Microsoft.Extensions.Time.Testing;

namespace BiT.Operator.Tests.Runtime;

public sealed class TransientRetryHandlerTests
{
    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.GatewayTimeout)]
    public async Task A_transient_answer_is_retried_until_the_request_succeeds(HttpStatusCode transient)
    {
        var inner = new ScriptedHandler(transient, transient, HttpStatusCode.Created);
        var handler = new TransientRetryHandler(TimeProvider.System, baseDelay: TimeSpan.Zero, maxDelay: TimeSpan.Zero) { InnerHandler = inner };
        using var invoker = new HttpMessageInvoker(handler);

        using var response = await invoker.SendAsync(Post("{\"kind\":\"Pod\"}"), CancellationToken.None);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(3, inner.Calls);
        Assert.Equal(2, handler.Retries);
        Assert.All(inner.Bodies, b => Assert.Equal("{\"kind\":\"Pod\"}", b));
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.Conflict)]
    [InlineData(HttpStatusCode.UnprocessableEntity)]
    [InlineData(HttpStatusCode.Forbidden)]
    [InlineData(HttpStatusCode.NotImplemented)]
    public async Task A_final_answer_is_returned_at_once(HttpStatusCode final)
    {
        var inner = new ScriptedHandler(final, HttpStatusCode.OK);
        var handler = new TransientRetryHandler(TimeProvider.System, baseDelay: TimeSpan.Zero, maxDelay: TimeSpan.Zero) { InnerHandler = inner };
        using var invoker = new HttpMessageInvoker(handler);

        using var response = await invoker.SendAsync(Post("{}"), CancellationToken.None);

        Assert.Equal(final, response.StatusCode);
        Assert.Equal(1, inner.Calls);
        Assert.Equal(0, handler.Retries);
    }

    [Fact]
    public async Task After_the_last_retry_the_transient_answer_reaches_the_caller()
    {
        var inner = new ScriptedHandler([.. Enumerable.Repeat<HttpStatusCode?>(HttpStatusCode.ServiceUnavailable, 10)]);
        var handler = new TransientRetryHandler(TimeProvider.System, maxRetries: 3, baseDelay: TimeSpan.Zero, maxDelay: TimeSpan.Zero) { InnerHandler = inner };
        using var invoker = new HttpMessageInvoker(handler);

        using var response = await invoker.SendAsync(Post("{}"), CancellationToken.None);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(4, inner.Calls);
    }

    [Fact]
    public async Task A_connection_that_fails_before_an_answer_is_retried()
    {
        var inner = new ScriptedHandler(null, HttpStatusCode.OK);
        var handler = new TransientRetryHandler(TimeProvider.System, baseDelay: TimeSpan.Zero, maxDelay: TimeSpan.Zero) { InnerHandler = inner };
        using var invoker = new HttpMessageInvoker(handler);

        using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "https://api.test/api/v1/pods"), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, inner.Calls);
    }

    [Fact]
    public async Task Retry_after_is_waited_for_but_capped()
    {
        var time = new FakeTimeProvider();
        var inner = new ScriptedHandler(HttpStatusCode.TooManyRequests, HttpStatusCode.OK) { RetryAfterSeconds = 60 };
        var handler = new TransientRetryHandler(time, maxDelay: TimeSpan.FromSeconds(2)) { InnerHandler = inner };
        using var invoker = new HttpMessageInvoker(handler);

        var send = invoker.SendAsync(Post("{}"), CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.False(send.IsCompleted, "retried before the (capped) Retry-After passed");
        Assert.Equal(1, inner.Calls);
        time.Advance(TimeSpan.FromMilliseconds(1));
        using var response = await send;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, inner.Calls);
    }

    [Fact]
    public async Task Cancellation_ends_the_wait_between_attempts()
    {
        var time = new FakeTimeProvider();
        var inner = new ScriptedHandler(HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK);
        var handler = new TransientRetryHandler(time) { InnerHandler = inner };
        using var invoker = new HttpMessageInvoker(handler);
        using var cts = new CancellationTokenSource();

        var send = invoker.SendAsync(Post("{}"), cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);
        Assert.Equal(1, inner.Calls);
    }

    private static HttpRequestMessage Post(string json) =>
        new(HttpMethod.Post, "https://api.test/api/v1/namespaces/ns/pods") { Content = new StringContent(json) };

    /// <summary>Answers with the given codes in turn; a null entry is a connection that fails before any answer.</summary>
    private sealed class ScriptedHandler(params HttpStatusCode?[] answers) : HttpMessageHandler
    {
        public int Calls { get; private set; }

        public int? RetryAfterSeconds { get; init; }

        public List<string> Bodies { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var answer = answers[Math.Min(Calls, answers.Length - 1)];
            Calls++;
            if (request.Content is not null)
            {
                Bodies.Add(await request.Content.ReadAsStringAsync(cancellationToken));
            }

            if (answer is not { } status)
            {
                throw new HttpRequestException("connection refused");
            }

            var response = new HttpResponseMessage(status);
            if (RetryAfterSeconds is { } seconds)
            {
                response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds));
            }

            return response;
        }
    }
}
