using System.Diagnostics;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace KubeEmulator.Tests;

/// <summary>Shared helpers: the Widget CRD, polling for asynchronous controllers, and running the real kubectl.</summary>
internal static class TestSupport
{
    public const string Group = "example.com";
    public const string Plural = "widgets";

    public const string WidgetCrdYaml = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.example.com
        spec:
          group: example.com
          scope: Namespaced
          names:
            plural: widgets
            singular: widget
            kind: Widget
            shortNames: [wd]
            categories: [all]
          versions:
          - name: v1
            served: true
            storage: true
            subresources:
              status: {}
            additionalPrinterColumns:
            - name: Size
              type: integer
              jsonPath: .spec.size
            - name: Ready
              type: string
              jsonPath: .status.conditions[?(@.type=="Ready")].status
            - name: Age
              type: date
              jsonPath: .metadata.creationTimestamp
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  spec:
                    type: object
                    required: [size]
                    properties:
                      size: {type: integer, minimum: 1, maximum: 10}
                      color: {type: string, enum: [red, blue], default: red}
                      name: {type: string, maxLength: 8, pattern: '^[a-z]+$'}
                      tags: {type: array, maxItems: 2, items: {type: string}}
                      extra:
                        type: object
                        x-kubernetes-preserve-unknown-fields: true
                  status:
                    type: object
                    properties:
                      phase: {type: string}
                      conditions:
                        type: array
                        items:
                          type: object
                          x-kubernetes-preserve-unknown-fields: true
        """;

    public static async Task InstallWidgetCrdAsync(IKubernetes client)
    {
        try
        {
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(KubernetesYaml.Deserialize<V1CustomResourceDefinition>(WidgetCrdYaml));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // Installed by another test of the same class.
        }
    }

    public static async Task<string> NewNamespaceAsync(IKubernetes client, string prefix)
    {
        var ns = await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { GenerateName = prefix + "-" } });
        return ns.Metadata.Name;
    }

    public static Dictionary<string, object> Widget(string name, int size, string? ns = null) => new()
    {
        ["apiVersion"] = "example.com/v1",
        ["kind"] = "Widget",
        ["metadata"] = ns is null ? new Dictionary<string, object> { ["name"] = name } : new Dictionary<string, object> { ["name"] = name, ["namespace"] = ns },
        ["spec"] = new Dictionary<string, object> { ["size"] = size },
    };

    /// <summary>Polls until the condition holds; the timeout only bounds a broken run (no timing is asserted).</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, int timeoutSeconds = 20)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(timeoutSeconds))
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(50);
        }
        return await condition();
    }

    public static async Task<bool> GoneAsync(Func<Task> get) => await EventuallyAsync(async () =>
    {
        try
        {
            await get();
            return false;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return true;
        }
    });

    public static async Task<HttpOperationException> ApiErrorAsync(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(call);
        return e;
    }
}

/// <summary>Runs /usr/bin/kubectl (or kubectl on PATH) against a kubeconfig, with a private discovery cache.</summary>
internal sealed class Kubectl(string kubeconfig, string cacheDir)
{
    public static string Path => File.Exists("/usr/bin/kubectl") ? "/usr/bin/kubectl" : "kubectl";

    public async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => await RunWithInputAsync(null, args);

    public async Task<(int Exit, string Out, string Err)> RunWithInputAsync(string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--kubeconfig");
        psi.ArgumentList.Add(kubeconfig);
        psi.ArgumentList.Add("--cache-dir");
        psi.ArgumentList.Add(cacheDir);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"kubectl {string.Join(' ', args)} did not finish in 60s");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a long-running kubectl (get -w) and returns the process and its collected stdout.</summary>
    public (Process Process, StringBuilder Output) Start(params string[] args)
    {
        var psi = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--kubeconfig", kubeconfig, "--cache-dir", cacheDir }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        var sb = new StringBuilder();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (sb)
                {
                    sb.AppendLine(e.Data);
                }
            }
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return (p, sb);
    }
}
