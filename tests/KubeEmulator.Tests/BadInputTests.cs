using System.Net;

namespace KubeEmulator.Tests;

/// <summary>Bad requests get a clear Status with the right code, never a dropped connection.</summary>
public sealed class BadInputTests(KubeEmulatorFixture fx) : IClassFixture<KubeEmulatorFixture>
{
    [Theory]
    [InlineData("POST", "/api/v1/namespaces/default/configmaps", "{not json", "application/json", HttpStatusCode.BadRequest, "not valid JSON")]
    [InlineData("GET", "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20b", null, null, HttpStatusCode.BadRequest, "unable to parse requirement")]
    [InlineData("GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=abc", null, null, HttpStatusCode.BadRequest, "invalid resource version")]
    [InlineData("GET", "/api/v1/namespaces/default/gizmos", null, null, HttpStatusCode.NotFound, "could not find the requested resource")]
    [InlineData("GET", "/apis/nope.example.com/v1", null, null, HttpStatusCode.NotFound, "could not find the requested resource")]
    [InlineData("PUT", "/api/v1/namespaces/default/configmaps/a", "{\"metadata\":{\"name\":\"b\"}}", "application/json", HttpStatusCode.BadRequest, "does not match the name on the URL")]
    [InlineData("PATCH", "/api/v1/namespaces/default/configmaps/a", "{}", "text/plain", HttpStatusCode.UnsupportedMediaType, "unknown format")]
    [InlineData("POST", "/api/v1/namespaces/default/configmaps", "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"x\"}}", "application/json", HttpStatusCode.BadRequest, "does not match the resource")]
    [InlineData("POST", "/api/v1/namespaces/default/configmaps", "{\"metadata\":{\"name\":\"Bad_Name\"}}", "application/json", (HttpStatusCode)422, "RFC 1123 subdomain")]
    public async Task Answers_a_status_naming_the_problem(string method, string path, string? body, string? contentType, HttpStatusCode code, string message)
    {
        await RawHttp.SendAsync(fx.Server, HttpMethod.Post, "/api/v1/namespaces/default/configmaps", "{\"metadata\":{\"name\":\"a\"}}");
        var (status, json) = await RawHttp.SendAsync(fx.Server, new HttpMethod(method), path, body, contentType ?? "application/json");
        Assert.Equal(code, status);
        Assert.Equal("Status", (string?)json!["kind"]);
        Assert.Contains(message, (string?)json["message"], StringComparison.Ordinal);
    }
}
