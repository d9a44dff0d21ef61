using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace KubeEmulator.Tests;

/// <summary>apps/v1 Deployments and policy/v1 PodDisruptionBudgets: stored with defaults and validation, served to kubectl.</summary>
public sealed class WorkloadTests : IAsyncLifetime
{
    private const string DeploymentYaml = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: apps
        spec:
          replicas: 2
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web, tier: front}
            spec:
              containers:
                - name: web
                  image: nginx:1.27
                  ports: [{name: http, containerPort: 80}]
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata:
          name: web
          namespace: apps
        spec:
          maxUnavailable: 1
          selector:
            matchLabels: {app: web}
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("workload-test-").FullName;
    private KubeEmulatorServer _server = null!;
    private Kubectl _kubectl = null!;

    public async Task InitializeAsync()
    {
        _server = await KubeEmulatorServer.StartAsync(new EmulatorOptions());
        _kubectl = new Kubectl(_server.WriteKubeconfig(Path.Combine(_dir, "kubeconfig")), Path.Combine(_dir, "cache"));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Kubectl_applies_a_deployment_and_a_pdb_which_get_the_servers_defaults()
    {
        Assert.Equal(0, (await _kubectl.RunAsync("create", "namespace", "apps")).Exit);
        var (exit, stdout, stderr) = await _kubectl.RunWithInputAsync(DeploymentYaml, "apply", "-f", "-");
        Assert.True(exit == 0, stderr);
        Assert.Contains("deployment.apps/web created", stdout, StringComparison.Ordinal);
        Assert.Contains("poddisruptionbudget.policy/web created", stdout, StringComparison.Ordinal);

        using var client = _server.CreateClient();
        var deployment = await client.AppsV1.ReadNamespacedDeploymentAsync("web", "apps");
        Assert.Equal(2, deployment.Spec.Replicas);
        Assert.Equal("RollingUpdate", deployment.Spec.Strategy.Type);
        Assert.Equal(10, deployment.Spec.RevisionHistoryLimit);
        Assert.Equal(1, deployment.Metadata.Generation);

        // Re-applying a change bumps the generation; the short name and the `all` category find it.
        (exit, _, stderr) = await _kubectl.RunWithInputAsync(DeploymentYaml.Replace("replicas: 2", "replicas: 3", StringComparison.Ordinal), "apply", "-f", "-");
        Assert.True(exit == 0, stderr);
        deployment = await client.AppsV1.ReadNamespacedDeploymentAsync("web", "apps");
        Assert.Equal(3, deployment.Spec.Replicas);
        Assert.Equal(2, deployment.Metadata.Generation);
        (exit, stdout, stderr) = await _kubectl.RunAsync("get", "deploy,pdb", "-n", "apps", "-o", "name");
        Assert.True(exit == 0, stderr);
        Assert.Equal(["deployment.apps/web", "poddisruptionbudget.policy/web"], stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var pdb = await client.PolicyV1.ReadNamespacedPodDisruptionBudgetAsync("web", "apps");
        Assert.Equal("1", pdb.Spec.MaxUnavailable.Value);
    }

    [Fact]
    public async Task A_deployment_whose_selector_does_not_match_its_template_is_refused_as_the_real_server_refuses_it()
    {
        using var client = _server.CreateClient();
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "bad" } });
        var deployment = new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = "web" },
            Spec = new V1DeploymentSpec
            {
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "web" } },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "other" } },
                    Spec = new V1PodSpec { Containers = [new V1Container { Name = "web" }] },
                },
            },
        };
        var ex = await Assert.ThrowsAsync<HttpOperationException>(() => client.AppsV1.CreateNamespacedDeploymentAsync(deployment, "bad"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, ex.Response.StatusCode);
        Assert.Contains("`selector` does not match template `labels`", ex.Response.Content, StringComparison.Ordinal);
        Assert.Contains("spec.template.spec.containers[0].image", ex.Response.Content, StringComparison.Ordinal);

        // The selector is immutable once created.
        deployment.Spec.Template.Metadata.Labels["app"] = "web";
        deployment.Spec.Template.Spec.Containers[0].Image = "nginx:1.27";
        await client.AppsV1.CreateNamespacedDeploymentAsync(deployment, "bad");
        var patch = new V1Patch("""{"spec":{"selector":{"matchLabels":{"app":"web","x":"y"}},"template":{"metadata":{"labels":{"x":"y"}}}}}""", V1Patch.PatchType.MergePatch);
        ex = await Assert.ThrowsAsync<HttpOperationException>(() => client.AppsV1.PatchNamespacedDeploymentAsync(patch, "web", "bad"));
        Assert.Contains("field is immutable", ex.Response.Content, StringComparison.Ordinal);

        var pdb = new V1PodDisruptionBudget
        {
            Metadata = new V1ObjectMeta { Name = "both" },
            Spec = new V1PodDisruptionBudgetSpec { MinAvailable = (IntOrString)"1", MaxUnavailable = (IntOrString)"150%" },
        };
        ex = await Assert.ThrowsAsync<HttpOperationException>(() => client.PolicyV1.CreateNamespacedPodDisruptionBudgetAsync(pdb, "bad"));
        Assert.Contains("minAvailable and maxUnavailable cannot be both set", ex.Response.Content, StringComparison.Ordinal);
        Assert.Contains("spec.maxUnavailable", ex.Response.Content, StringComparison.Ordinal);
    }
}
