using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace KubeEmulator.Tests;

/// <summary>Plain HTTPS requests to the emulator (for what KubernetesClient does not expose: Table, raw watch streams).</summary>
internal static class RawHttp
{
    public static HttpClient Client(KubeEmulatorServer server, string? token = null)
    {
        var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert!.Thumbprint == server.Certificate.Thumbprint })
        {
            BaseAddress = server.BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token ?? server.AdminToken);
        return http;
    }

    public static async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(KubeEmulatorServer server, HttpMethod method, string path, string? body = null, string contentType = "application/json", string? accept = null, string? token = null)
    {
        using var http = Client(server, token);
        using var req = new HttpRequestMessage(method, path);
        if (accept is not null)
        {
            req.Headers.Accept.ParseAdd(accept);
        }
        if (body is not null)
        {
            req.Content = new StringContent(body, Encoding.UTF8);
            req.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        using var resp = await http.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        return (resp.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }
}
