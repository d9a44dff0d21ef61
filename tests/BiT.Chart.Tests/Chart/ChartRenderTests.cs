using System.Text.Json.Nodes;
using BiT.Chart.Tests.Support;

namespace BiT.Chart.Tests.Chart;

/// <summary>helm 4 lint and template across value sets: what each switch renders, and what the schema refuses.</summary>
public sealed class ChartRenderTests
{
    private static readonly string[] Everything =
    [
        "metrics.serviceMonitor.enabled=true", "metrics.podMonitor.enabled=true", "prometheusRule.enabled=true",
        "dashboard.enabled=true", "crds.templates=true", "tensorboard.enabled=true", "tensorboard.claimName=team-checkpoints",
    ];

    [Fact]
    public async Task Helm_lint_strict_passes_with_the_defaults_and_with_every_switch_on()
    {
        await Tool.Helm.OkAsync("lint", "--strict", Repo.Chart);
        var args = new List<string> { "lint", "--strict", Repo.Chart };
        foreach (var s in Everything.Concat(["watchNamespaces={ml,vision}"]))
        {
            args.AddRange(["--set", s]);
        }

        (await Tool.Helm.RunAsync(args)).Ok();
    }

    [Fact]
    public async Task The_defaults_render_the_operator_its_rbac_service_and_disruption_budget_and_nothing_that_needs_prometheus_operator()
    {
        var docs = await HelmChart.TemplateAsync();
        Assert.Equal(
            ["ClusterRole", "ClusterRoleBinding", "Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "ServiceAccount"],
            docs.Kinds().Order(StringComparer.Ordinal));

        var deployment = docs.Single("Deployment");
        var pod = deployment["spec"]!["template"]!["spec"]!;
        var container = pod["containers"]![0]!;
        Assert.Equal("ghcr.io/bit-operator/operator:0.1.0", (string?)container["image"]);
        Assert.Equal("run", (string?)container["args"]![0]);
        Assert.Contains("--trainer-image=ghcr.io/bit-operator/trainer:0.1.0", container["args"]!.AsArray().Select(a => (string?)a));
        Assert.Equal(65532L, (long?)pod["securityContext"]!["runAsUser"]);
        Assert.True((bool?)container["securityContext"]!["readOnlyRootFilesystem"]);

        var pdb = docs.Single("PodDisruptionBudget");
        Assert.Equal(1L, (long?)pdb["spec"]!["maxUnavailable"]);
        Assert.Equal(
            deployment["spec"]!["selector"]!["matchLabels"]!.ToJsonString(),
            pdb["spec"]!["selector"]!["matchLabels"]!.ToJsonString());
    }

    [Fact]
    public async Task The_operators_rules_let_it_make_a_gangs_service_and_pod_groups_in_the_cluster_role_and_in_each_watched_namespace()
    {
        static bool Allows(JsonNode role, string group, string resource, string verb) =>
            role["rules"]!.AsArray().Any(r =>
                r!["apiGroups"]!.AsArray().Any(g => (string?)g == group)
                && r["resources"]!.AsArray().Any(x => (string?)x == resource)
                && r["verbs"]!.AsArray().Any(v => (string?)v == verb));

        var cluster = (await HelmChart.TemplateAsync()).Single("ClusterRole");
        var perNamespace = (await HelmChart.TemplateAsync(["watchNamespaces={ml}"])).Single("Role", "bit-operator");
        foreach (var role in new[] { cluster, perNamespace })
        {
            Assert.True(Allows(role, "", "services", "create"), "headless Service of a gang");
            Assert.True(Allows(role, "scheduling.x-k8s.io", "podgroups", "create"), "coscheduling PodGroup");
            Assert.True(Allows(role, "scheduling.volcano.sh", "podgroups", "create"), "Volcano PodGroup");
            Assert.False(Allows(role, "", "services", "delete"), "the Service goes with its job (garbage collection)");
        }
    }

    [Fact]
    public async Task Each_switch_renders_its_object()
    {
        var docs = await HelmChart.TemplateAsync(Everything);
        var service = docs.Single("Service", "-metrics");

        var monitor = docs.Single("ServiceMonitor");
        Assert.Equal(service["metadata"]!["labels"]!["app.kubernetes.io/instance"]!.ToJsonString(), monitor["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/instance"]!.ToJsonString());
        Assert.Equal("metrics", (string?)monitor["spec"]!["endpoints"]![0]!["port"]);
        Assert.True((bool?)monitor["spec"]!["endpoints"]![0]!["honorLabels"], "the per-job series keep their own namespace label");

        var podMonitor = docs.Single("PodMonitor");
        Assert.Equal("bit-trainer", (string?)podMonitor["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/name"]);
        Assert.True((bool?)podMonitor["spec"]!["namespaceSelector"]!["any"]);

        var rule = docs.Single("PrometheusRule");
        var alerts = rule["spec"]!["groups"]!.AsArray().SelectMany(g => g!["rules"]!.AsArray()).Select(r => (string?)r!["alert"]).ToList();
        Assert.Equal(["BiTJobStalled", "BiTJobRestartingTooOften", "BiTJobFailed", "BiTJobWaitingTooLong", "BiTOperatorDown", "BiTOperatorNoLeader", "BiTOperatorReconcileErrors"], alerts);

        var dashboard = docs.Single("ConfigMap", "-dashboard");
        Assert.Equal("1", (string?)dashboard["metadata"]!["labels"]!["grafana_dashboard"]);
        var json = JsonNode.Parse((string)dashboard["data"]!["bit-operator.json"]!)!;
        Assert.Equal(File.ReadAllText(Path.Combine(Repo.Chart, "files", "dashboards", "bit-operator.json")).TrimEnd(), ((string)dashboard["data"]!["bit-operator.json"]!).TrimEnd());
        Assert.Equal("bit-operator", (string?)json["uid"]);

        var crds = docs.Where(d => (string?)d["kind"] == "CustomResourceDefinition").ToList();
        Assert.Equal(["bitfinetunejobs.bit.training", "bitpretrainjobs.bit.training"], crds.Select(c => (string)c["metadata"]!["name"]!).Order(StringComparer.Ordinal));
        Assert.All(crds, c => Assert.Equal("keep", (string?)c["metadata"]!["annotations"]!["helm.sh/resource-policy"]));

        var tensorboard = docs.Single("Deployment", "-tensorboard");
        var volume = tensorboard["spec"]!["template"]!["spec"]!["volumes"]![0]!["persistentVolumeClaim"]!;
        Assert.Equal("team-checkpoints", (string?)volume["claimName"]);
        Assert.True((bool?)volume["readOnly"]);
        // The operator's selectors must not pick up the TensorBoard pod.
        var operatorSelector = docs.Single("Deployment", "bit-operator")["spec"]!["selector"]!["matchLabels"]!.AsObject();
        var tensorboardLabels = tensorboard["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        Assert.False(operatorSelector.All(kv => (string?)tensorboardLabels[kv.Key] == (string?)kv.Value), "the operator's selector matches the TensorBoard pod");
    }

    [Fact]
    public async Task Watched_namespaces_get_roles_and_the_pod_monitor_looks_only_there_and_one_replica_has_no_budget()
    {
        var docs = await HelmChart.TemplateAsync("watchNamespaces={ml,vision}", "metrics.podMonitor.enabled=true", "replicaCount=1", "leaderElection.enabled=false");
        Assert.DoesNotContain("ClusterRole", docs.Kinds());
        Assert.DoesNotContain("PodDisruptionBudget", docs.Kinds());
        Assert.Equal(["ml", "vision"], docs.Where(d => (string?)d["kind"] == "Role").Select(d => (string)d["metadata"]!["namespace"]!).Order(StringComparer.Ordinal));
        Assert.Equal(["ml", "vision"], docs.Single("PodMonitor")["spec"]!["namespaceSelector"]!["matchNames"]!.AsArray().Select(n => (string)n!));
        var args = docs.Single("Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.AsArray().Select(a => (string)a!).ToList();
        Assert.Contains("--namespace=ml", args);
        Assert.Contains("--leader-elect=false", args);
    }

    [Fact]
    public async Task The_scheduling_and_weights_policies_become_operator_flags()
    {
        static List<string> Args(IReadOnlyList<JsonObject> docs) =>
            docs.Single("Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.AsArray().Select(a => (string)a!).ToList();

        var strict = Args(await HelmChart.TemplateAsync());
        Assert.Contains("--weights-allow-http=false", strict);
        Assert.Contains("--weights-allow-private-networks=false", strict);
        Assert.DoesNotContain(strict, a => a.StartsWith("--weights-max-bytes", StringComparison.Ordinal) || a.StartsWith("--weights-private-host", StringComparison.Ordinal));
        Assert.DoesNotContain(strict, a => a.StartsWith("--allowed-priority-class", StringComparison.Ordinal) || a.StartsWith("--allowed-toleration-key", StringComparison.Ordinal));

        var loose = Args(await HelmChart.TemplateAsync(
            "policy.allowedPriorityClasses={batch-*,training}", "policy.allowedTolerationKeys={nvidia.com/*}",
            "trainer.weights.allowHttp=true", "trainer.weights.allowPrivateNetworks=true", "trainer.weights.privateHosts={mirror.internal}",
            "trainer.weights.maxBytes=17179869184"));
        Assert.Equal(["--allowed-priority-class=batch-*", "--allowed-priority-class=training"], loose.Where(a => a.StartsWith("--allowed-priority-class", StringComparison.Ordinal)));
        Assert.Contains("--allowed-toleration-key=nvidia.com/*", loose);
        Assert.Contains("--weights-allow-http=true", loose);
        Assert.Contains("--weights-allow-private-networks=true", loose);
        Assert.Contains("--weights-private-host=mirror.internal", loose);
        Assert.Contains("--weights-max-bytes=17179869184", loose);

    }

    [Theory]
    [InlineData("trainer.weights.maxBytes=-1", "/trainer/weights/maxBytes")]
    [InlineData("trainer.weights.allowHttp=yes", "/trainer/weights/allowHttp")]
    [InlineData("policy.allowedPriorityClasses={Bad Class}", "/policy/allowedPriorityClasses/0")]
    [InlineData("replicaCount=0", "/replicaCount")]
    [InlineData("metrics.serviceMonitor.enabled=yes", "/metrics/serviceMonitor/enabled")]
    [InlineData("prometheusRule.alerts.stalled.for=5minutes", "/prometheusRule/alerts/stalled/for")]
    [InlineData("tensorboard.enabled=true", "/tensorboard/claimName")]
    [InlineData("image.pullPolicy=Sometimes", "/image/pullPolicy")]
    [InlineData("resyncPeriod=ten minutes", "/resyncPeriod")]
    [InlineData("watchNamespaces={Not_A_Namespace}", "/watchNamespaces/0")]
    [InlineData("replicas=2", "additional properties 'replicas' not allowed")]
    public async Task Helm_refuses_a_bad_value_with_a_message_naming_it(string set, string named)
    {
        var result = await Tool.Helm.RunAsync("template", "x", Repo.Chart, "--set", set);
        Assert.NotEqual(0, result.Exit);
        Assert.Contains(named, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Notes_tell_how_to_run_and_watch_a_first_job()
    {
        var result = await Tool.Helm.RunAsync("install", "bit", Repo.Chart, "--dry-run=client", "--namespace", "bit-system", "--set", "prometheusRule.enabled=true");
        result.Ok();
        Assert.Contains("kind: BiTFineTuneJob", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("kubectl get bitft first -o wide -w", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("PrometheusRule (7 alerts", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("kubectl apply --server-side --force-conflicts -f charts/bit-operator/crds/", result.Stdout, StringComparison.Ordinal);

        // Ready is True as soon as the trainer runs: waiting for the job to finish means waiting for Succeeded.
        Assert.Contains("kubectl wait bitft/first --for=condition=Succeeded", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("--for=condition=Ready", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_tensorboard_docs_name_the_service_port_and_namespace_the_chart_renders()
    {
        var docs = await HelmChart.TemplateAsync("tensorboard.enabled=true", "tensorboard.claimName=shared-checkpoints", "tensorboard.namespace=ml");
        var service = docs.Single("Service", "-tensorboard");
        var deployment = docs.Single("Deployment", "-tensorboard");
        var name = (string)service["metadata"]!["name"]!;
        var port = (long)service["spec"]!["ports"]![0]!["port"]!;
        Assert.Equal("ml", (string)service["metadata"]!["namespace"]!);
        Assert.Null(service["spec"]!["type"]);
        var volume = deployment["spec"]!["template"]!["spec"]!["volumes"]![0]!["persistentVolumeClaim"]!;
        Assert.Equal(("shared-checkpoints", true), ((string)volume["claimName"]!, (bool)volume["readOnly"]!));

        var install = File.ReadAllText(Path.Combine(Repo.Docs, "install.md"));
        Assert.Contains($"kubectl -n ml port-forward svc/{name} {port}:{port}", install, StringComparison.Ordinal);
        Assert.Contains("--set tensorboard.enabled=true --set tensorboard.claimName=shared-checkpoints --set tensorboard.namespace=ml", install, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_default_image_tags_follow_the_charts_app_version()
    {
        var chart = Manifests.Parse(File.ReadAllText(Path.Combine(Repo.Chart, "Chart.yaml")))[0];
        var appVersion = (string)chart["appVersion"]!;
        var values = Manifests.Parse(File.ReadAllText(Path.Combine(Repo.Chart, "values.yaml")))[0];
        Assert.Equal("", (string?)values["image"]!["tag"]);
        Assert.EndsWith(":" + appVersion, (string)values["trainer"]!["image"]!, StringComparison.Ordinal);
        foreach (var dockerfile in new[] { "src/Operator/Dockerfile", "src/TrainerImage/Dockerfile" })
        {
            Assert.Contains($":{appVersion} .", File.ReadAllText(Path.Combine(Repo.Root, dockerfile)), StringComparison.Ordinal);
        }

        var docs = await HelmChart.TemplateAsync();
        Assert.EndsWith(":" + appVersion, (string)docs.Single("Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!, StringComparison.Ordinal);
    }
}
