using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using k8s;
using KubeEmulator.Api;
using KubeEmulator.Hosting;
using KubeEmulator.Http;
using KubeEmulator.Rbac;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KubeEmulator;

/// <summary>
/// An in-memory Kubernetes API server on 127.0.0.1 (plain HTTP, bearer tokens), with an optional local kubelet.
/// The real KubernetesClient and kubectl talk to it unchanged.
/// </summary>
public sealed class KubeEmulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private bool _disposed;

    private KubeEmulatorServer(WebApplication app, ApiServerCore core, Uri baseAddress, Kubelet kubelet)
    {
        _app = app;
        Core = core;
        BaseAddress = baseAddress;
        Kubelet = kubelet;
        core.Stopping = _stopping.Token;
    }

    internal ApiServerCore Core { get; }

    public Uri BaseAddress { get; }

    /// <summary>The self-signed serving certificate (also the CA clients must trust).</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2 Certificate { get; private init; } = null!;

    /// <summary>The CA certificate in PEM, as written into kubeconfigs and pods' ca.crt.</summary>
    public string CaPem => Core.CaPem;

    public string AdminToken => Core.Tokens.AdminToken;

    public Kubelet Kubelet { get; }

    public FaultInjector Faults => Core.Faults;

    public RequestLog Requests => Core.Requests;

    public EmulatorOptions Options => Core.Options;

    /// <summary>Starts the server; listen is "host:port" (port 0 picks a free one; see <see cref="BaseAddress"/>).</summary>
    public static async Task<KubeEmulatorServer> StartAsync(EmulatorOptions options, string listen = "127.0.0.1:0", CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (host, port) = ParseListen(listen);
        var certificate = ServingCertificate.Create(options.Time);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(host, port, l => l.UseHttps(certificate));
            k.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
        });
        var app = builder.Build();
        var core = new ApiServerCore(options, new FaultInjector(), new RequestLog());
        var kubelet = new Kubelet(core);
        var handler = new ResourceHandler(core);
        app.Use(async (ctx, next) =>
        {
            var path = ctx.Request.Path.Value ?? "/";
            var user = core.Tokens.Authenticate(ctx.Request.Headers.Authorization);
            if (user is null && path is not ("/healthz" or "/livez" or "/readyz" or "/version"))
            {
                core.Requests.Record(new RequestRecord(ctx.Request.Method.ToLowerInvariant(), "", path, null, null, null, "system:anonymous", 401, core.Time.GetUtcNow()));
                await HttpIo.WriteErrorAsync(ctx, ApiException.Unauthorized());
                return;
            }
            user ??= new UserInfo("system:anonymous", ["system:unauthenticated"], false);
            if (ctx.Request.Headers["Impersonate-User"].ToString() is { Length: > 0 } impersonated)
            {
                // kubectl --as: only admins may impersonate here (the real server checks the "impersonate" verb).
                if (!user.IsAdmin)
                {
                    await HttpIo.WriteErrorAsync(ctx, ApiException.Forbidden($"users \"{impersonated}\" is forbidden: User \"{user.Name}\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"));
                    return;
                }
                var groups = ctx.Request.Headers["Impersonate-Group"].Where(g => !string.IsNullOrEmpty(g)).Select(g => g!).ToList();
                var sa = impersonated.Split(':');
                user = sa.Length == 4 && impersonated.StartsWith("system:serviceaccount:", StringComparison.Ordinal)
                    ? UserInfo.ServiceAccount(sa[2], sa[3]) with { Groups = [.. UserInfo.ServiceAccount(sa[2], sa[3]).Groups, .. groups] }
                    : new UserInfo(impersonated, [.. groups, "system:authenticated"], groups.Contains("system:masters"));
            }
            ctx.Items[typeof(UserInfo)] = user;
            try
            {
                await next(ctx);
            }
            catch (ApiException e) when (!ctx.Response.HasStarted)
            {
                await HttpIo.WriteErrorAsync(ctx, e);
            }
            catch (Exception e) when (e is not OperationCanceledException && !ctx.Response.HasStarted)
            {
                // An emulator bug must still answer like an API server (and say what went wrong), not drop the connection.
                await HttpIo.WriteErrorAsync(ctx, new ApiException(500, "InternalError", $"Internal error occurred: {e.GetType().Name}: {e.Message}"));
            }
        });
        app.MapGet("/healthz", () => "ok");
        app.MapGet("/livez", () => "ok");
        app.MapGet("/readyz", () => "ok");
        app.MapGet("/version", (HttpContext ctx) => HttpIo.WriteJsonAsync(ctx, 200, VersionInfo.Document()));
        OpenApi.Map(app, core);
        EmulatorControl.Map(app, core);
        foreach (var fault in options.InitialFaults)
        {
            try
            {
                EmulatorControl.Apply(core.Faults, fault);
            }
            catch (ApiException e)
            {
                throw new ArgumentException($"fault {fault.ToJsonString()}: {e.Message}", nameof(options), e);
            }
        }
        app.Map("/api", handler.HandleAsync);
        app.Map("/api/{**rest}", handler.HandleAsync);
        app.Map("/apis", handler.HandleAsync);
        app.Map("/apis/{**rest}", handler.HandleAsync);
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var actualPort = new Uri(address).Port;
        var baseAddress = new Uri($"https://{host}:{actualPort}/");
        core.ServerAddress = $"{host}:{actualPort}";
        core.CaPem = ServingCertificate.Pem(certificate);
        var server = new KubeEmulatorServer(app, core, baseAddress, kubelet) { Certificate = certificate };
        core.StartControllers(server._stopping.Token);
        kubelet.Start(baseAddress);
        return server;
    }

    /// <summary>Writes a kubeconfig for this server (admin token unless another token is given) and returns its path.</summary>
    public string WriteKubeconfig(string path, string? token = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        File.WriteAllText(path, Kubeconfig.Render(BaseAddress, CaPem, token ?? AdminToken, "default"));
        return path;
    }

    /// <summary>A KubernetesClient for this server (admin unless a token is given).</summary>
    public k8s.Kubernetes CreateClient(string? token = null) => new(CreateClientConfiguration(token));

    /// <summary>The configuration <see cref="CreateClient"/> uses, for a client built with its own handlers.</summary>
    public KubernetesClientConfiguration CreateClientConfiguration(string? token = null) =>
        new()
        {
            Host = BaseAddress.ToString().TrimEnd('/'),
            AccessToken = token ?? AdminToken,
            Namespace = "default",
            SslCaCerts = [X509CertificateLoader.LoadCertificate(Certificate.RawData)],
        };

    /// <summary>A bearer token that authenticates as the ServiceAccount; RBAC applies to it.</summary>
    public string IssueServiceAccountToken(string @namespace, string serviceAccount) => Core.Tokens.IssueServiceAccount(@namespace, serviceAccount);

    /// <summary>A bearer token for an arbitrary user and groups (RBAC applies unless a group is system:masters).</summary>
    public string IssueUserToken(string user, params string[] groups) =>
        Core.Tokens.IssueUser(new UserInfo(user, [.. groups, "system:authenticated"], groups.Contains("system:masters")));

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        await Kubelet.StopAllAsync(CancellationToken.None);
        await _stopping.CancelAsync();
        Core.Hub.CloseAll("server stopping");
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _stopping.Dispose();
        Certificate.Dispose();
    }

    private static (IPAddress Host, int Port) ParseListen(string listen)
    {
        var i = listen.LastIndexOf(':');
        if (i <= 0 || !int.TryParse(listen[(i + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new ArgumentException($"listen must be HOST:PORT (e.g. 127.0.0.1:0), got \"{listen}\"", nameof(listen));
        }
        var hostText = listen[..i].Trim('[', ']');
        if (hostText == "localhost")
        {
            hostText = "127.0.0.1";
        }
        if (!IPAddress.TryParse(hostText, out var host))
        {
            throw new ArgumentException($"listen host must be an IP address such as 127.0.0.1, got \"{hostText}\"", nameof(listen));
        }
        return (host, port);
    }
}
