using System.Diagnostics;
using System.Net;
using k8s;
using k8s.Models;

namespace KubeEmulator.Tests;

/// <summary>The local kubelet: pods as /bin/sh processes, volumes, env, status, restarts, deletion, eviction, node loss.</summary>
public sealed class KubeletTests : IAsyncLifetime
{
    private readonly string _state = Directory.CreateTempSubdirectory("kubelet-test-").FullName;
    private KubeEmulatorServer _server = null!;
    private k8s.Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        var options = new EmulatorOptions { RunPods = true, StateDir = _state, RestartBackoff = TimeSpan.FromMilliseconds(100), NodeLostDeletionDelay = TimeSpan.FromMilliseconds(300) };
        options.ImageMap["shell:1"] = "/bin/sh";
        options.ImageMap["kubectl"] = Kubectl.Path;
        options.NodeLabels["pool"] = "gpu";
        _server = await KubeEmulatorServer.StartAsync(options);
        _client = _server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_state, recursive: true);
    }

    private static V1Pod ShellPod(string name, string script, string restartPolicy = "Never", long grace = 30) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1PodSpec
        {
            RestartPolicy = restartPolicy,
            TerminationGracePeriodSeconds = grace,
            Containers = [new V1Container { Name = "main", Image = "shell:1", Args = ["-c", script] }],
        },
    };

    private async Task<V1Pod> WaitPodAsync(string ns, string name, Func<V1Pod, bool> condition)
    {
        V1Pod? last = null;
        var ok = await TestSupport.EventuallyAsync(async () =>
        {
            last = await _client.CoreV1.ReadNamespacedPodAsync(name, ns);
            return condition(last);
        }, 30);
        Assert.True(ok, $"pod {ns}/{name} never reached the expected state; last phase {last?.Status?.Phase}, reason {last?.Status?.Reason}, containers {System.Text.Json.JsonSerializer.Serialize(last?.Status?.ContainerStatuses)}");
        return last!;
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Pod_runs_with_configmap_secret_pvc_env_and_completes()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "run");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cfg" }, Data = new Dictionary<string, string> { ["greeting"] = "hello", ["file.txt"] = "from-configmap" } }, ns);
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "sec" }, StringData = new Dictionary<string, string> { ["password"] = "s3cret" } }, ns);
        await _client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new V1ObjectMeta { Name = "data" },
            Spec = new V1PersistentVolumeClaimSpec { AccessModes = ["ReadWriteOnce"], Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } } },
        }, ns);
        var pod = ShellPod("job", "echo \"$GREETING $PASSWORD $POD_NAME\" > /data/out.txt && cat /etc/cfg/file.txt >> /data/out.txt && cp \"$BIT_KUBE_TOKEN_FILE\" /data/token && echo logged-line");
        pod.Spec.Containers[0].Env =
        [
            new V1EnvVar { Name = "GREETING", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = "cfg", Key = "greeting" } } },
            new V1EnvVar { Name = "PASSWORD", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "sec", Key = "password" } } },
            new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
        ];
        pod.Spec.Containers[0].VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/data" }, new V1VolumeMount { Name = "cfg", MountPath = "/etc/cfg" }];
        pod.Spec.Volumes = [new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = "data" } }, new V1Volume { Name = "cfg", ConfigMap = new V1ConfigMapVolumeSource { Name = "cfg" } }];
        pod.Spec.ServiceAccountName = "default";
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);

        var done = await WaitPodAsync(ns, "job", p => p.Status?.Phase is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", done.Status.Phase);
        Assert.Equal("emulator-node", done.Spec.NodeName);
        var cs = done.Status.ContainerStatuses.Single();
        Assert.Equal(0, cs.State.Terminated.ExitCode);
        Assert.Equal("Completed", cs.State.Terminated.Reason);
        Assert.StartsWith("local://", cs.ContainerID, StringComparison.Ordinal);
        Assert.Contains(done.Status.Conditions, c => c.Type == "PodScheduled" && c.Status == "True");

        var pvcDir = _server.Kubelet.PvcHostPath(ns, "data");
        Assert.Equal("hello s3cret job\nfrom-configmap", (await File.ReadAllTextAsync(Path.Combine(pvcDir, "out.txt"))).Trim());
        // The projected token authenticates as the pod's ServiceAccount (which has no permissions here).
        using var asPod = _server.CreateClient((await File.ReadAllTextAsync(Path.Combine(pvcDir, "token"))).Trim());
        var e = await TestSupport.ApiErrorAsync(() => asPod.CoreV1.ListNamespacedPodAsync(ns));
        Assert.Contains($"system:serviceaccount:{ns}:default", e.Response.Content, StringComparison.Ordinal);
        using var log = await _client.CoreV1.ReadNamespacedPodLogAsync("job", ns);
        Assert.Contains("logged-line", await new StreamReader(log).ReadToEndAsync(), StringComparison.Ordinal);
        var events = (await _client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "involvedObject.name=job")).Items;
        Assert.Contains(events, e => e.Reason == "Scheduled" && e.Source.Component == "default-scheduler");
        Assert.Contains(events, e => e.Reason == "Started" && e.Message == "Started container main");
    }

    [Fact]
    public async Task Mount_paths_in_configmap_texts_are_rewritten_once_and_binary_keys_are_left_alone()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "paths");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "plan" },
            Data = new Dictionary<string, string> { ["plan.json"] = """{"out":"/data/from-config.txt","scratch":"/tmp/s"}""" },
            BinaryData = new Dictionary<string, byte[]> { ["raw"] = "/data/raw"u8.ToArray() },
        }, ns);
        await _client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new V1ObjectMeta { Name = "data" },
            Spec = new V1PersistentVolumeClaimSpec { AccessModes = ["ReadWriteOnce"], Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } } },
        }, ns);
        // The host paths themselves lie under /tmp, which is also a mount here: a second pass would map them again.
        var pod = ShellPod("reader", """
            out=$(sed 's/.*"out":"\([^"]*\)".*/\1/' /etc/bit/plan.json) && echo written > "$out" \
              && cp /etc/bit/plan.json /data/plan-seen.json && cp /etc/bit/raw /data/raw-seen && echo "$SCRATCH" > /data/scratch.txt
            """);
        pod.Spec.Containers[0].Env = [new V1EnvVar { Name = "SCRATCH", Value = "/tmp/s" }];
        pod.Spec.Containers[0].VolumeMounts =
        [
            new V1VolumeMount { Name = "data", MountPath = "/data" },
            new V1VolumeMount { Name = "plan", MountPath = "/etc/bit", ReadOnlyProperty = true },
            new V1VolumeMount { Name = "scratch", MountPath = "/tmp" },
        ];
        pod.Spec.Volumes =
        [
            new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = "data" } },
            new V1Volume { Name = "plan", ConfigMap = new V1ConfigMapVolumeSource { Name = "plan" } },
            new V1Volume { Name = "scratch", EmptyDir = new V1EmptyDirVolumeSource() },
        ];
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);

        var done = await WaitPodAsync(ns, "reader", p => p.Status?.Phase is "Succeeded" or "Failed");
        using var log = await _client.CoreV1.ReadNamespacedPodLogAsync("reader", ns);
        Assert.True(done.Status.Phase == "Succeeded", await new StreamReader(log).ReadToEndAsync());
        var pvcDir = _server.Kubelet.PvcHostPath(ns, "data");
        Assert.Equal("written", (await File.ReadAllTextAsync(Path.Combine(pvcDir, "from-config.txt"))).Trim());
        var seen = await File.ReadAllTextAsync(Path.Combine(pvcDir, "plan-seen.json"));
        Assert.Contains(Path.Combine(pvcDir, "from-config.txt"), seen, StringComparison.Ordinal);
        Assert.DoesNotContain("\"/data/", seen, StringComparison.Ordinal);
        Assert.Equal("/data/raw", await File.ReadAllTextAsync(Path.Combine(pvcDir, "raw-seen")));
        var scratch = (await File.ReadAllTextAsync(Path.Combine(pvcDir, "scratch.txt"))).Trim();
        Assert.EndsWith(Path.Combine("volumes", "scratch", "s"), scratch, StringComparison.Ordinal);
        Assert.StartsWith(_state, scratch, StringComparison.Ordinal);
        Assert.Equal(1, CountOccurrences(scratch, _state));
    }

    private static int CountOccurrences(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    [Fact]
    public async Task Failing_container_reports_exit_code_and_on_failure_restarts()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "fail");
        await _client.CoreV1.CreateNamespacedPodAsync(ShellPod("fails", "exit 3"), ns);
        var failed = await WaitPodAsync(ns, "fails", p => p.Status?.Phase is "Failed");
        Assert.Equal(3, failed.Status.ContainerStatuses[0].State.Terminated.ExitCode);
        Assert.Equal("Error", failed.Status.ContainerStatuses[0].State.Terminated.Reason);

        // Fails once, then succeeds: the emptyDir survives the container restart.
        var flaky = ShellPod("flaky", "if [ -f /scratch/seen ]; then exit 0; fi; touch /scratch/seen; exit 1", restartPolicy: "OnFailure");
        flaky.Spec.Containers[0].VolumeMounts = [new V1VolumeMount { Name = "scratch", MountPath = "/scratch" }];
        flaky.Spec.Volumes = [new V1Volume { Name = "scratch", EmptyDir = new V1EmptyDirVolumeSource() }];
        await _client.CoreV1.CreateNamespacedPodAsync(flaky, ns);
        var ok = await WaitPodAsync(ns, "flaky", p => p.Status?.Phase is "Succeeded" or "Failed");
        Assert.Equal("Succeeded", ok.Status.Phase);
        Assert.Equal(1, ok.Status.ContainerStatuses[0].RestartCount);
        Assert.Equal(1, ok.Status.ContainerStatuses[0].LastState.Terminated.ExitCode);
    }

    [Fact]
    public async Task Delete_sends_sigterm_then_removes_the_pod_and_hard_kill_restarts()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "term");
        await _client.CoreV1.CreateNamespacedPodAsync(ShellPod("svc", "trap 'exit 0' TERM; while true; do sleep 0.05; done", restartPolicy: "Always"), ns);
        var running = await WaitPodAsync(ns, "svc", p => p.Status?.Phase == "Running");
        Assert.True(running.Status.ContainerStatuses[0].Ready);
        var pid = _server.Kubelet.ProcessIds(ns, "svc")["main"];
        Assert.Equal($"local://{pid}", running.Status.ContainerStatuses[0].ContainerID);
        Assert.True(Alive(pid));

        await _server.Kubelet.KillAsync(ns, "svc", hard: true);
        var restarted = await WaitPodAsync(ns, "svc", p => p.Status?.ContainerStatuses?[0].RestartCount == 1 && p.Status.ContainerStatuses[0].State.Running is not null);
        Assert.Equal(137, restarted.Status.ContainerStatuses[0].LastState.Terminated.ExitCode);
        var newPid = _server.Kubelet.ProcessIds(ns, "svc")["main"];
        Assert.NotEqual(pid, newPid);

        await _client.CoreV1.DeleteNamespacedPodAsync("svc", ns);
        Assert.True(await TestSupport.GoneAsync(() => _client.CoreV1.ReadNamespacedPodAsync("svc", ns)));
        Assert.True(await TestSupport.EventuallyAsync(() => Task.FromResult(!Alive(newPid))));
    }

    [Theory]
    [InlineData(243)]
    [InlineData(253)]
    public async Task A_pod_with_a_name_longer_than_a_label_runs_and_is_deleted(int length)
    {
        // Pod names may be DNS subdomains of 253 characters; what is derived from them (the hostname, Event names)
        // must not keep such a pod from running or from going away.
        var ns = await TestSupport.NewNamespaceAsync(_client, "long");
        var name = string.Concat(Enumerable.Repeat("a1234567.", 30))[..(length - 1)] + "z";
        await _client.CoreV1.CreateNamespacedPodAsync(ShellPod(name, "echo \"host=$HOSTNAME\"; trap 'exit 0' TERM; while true; do sleep 0.05; done"), ns);
        var running = await WaitPodAsync(ns, name, p => p.Status?.Phase == "Running");
        Assert.True(running.Status.ContainerStatuses[0].Ready);
        var log = "";
        Assert.True(await TestSupport.EventuallyAsync(async () =>
        {
            using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync(name, ns);
            log = await new StreamReader(stream).ReadToEndAsync();
            return log.Contains("host=", StringComparison.Ordinal);
        }), "the container's log");
        // The kubelet cuts the hostname to a 63-character label.
        Assert.Equal("host=" + name[..63].TrimEnd('.'), log.Trim());

        await _client.CoreV1.DeleteNamespacedPodAsync(name, ns);
        Assert.True(await TestSupport.GoneAsync(() => _client.CoreV1.ReadNamespacedPodAsync(name, ns)), "the pod stayed Terminating");
        var events = await _client.CoreV1.ListNamespacedEventAsync(ns);
        Assert.Contains(events.Items, e => e.Reason == "Killing" && e.InvolvedObject.Name == name);
        Assert.All(events.Items, e => Assert.InRange(e.Metadata.Name.Length, 1, 253));
    }

    [Fact]
    public async Task Env_values_naming_a_pod_under_a_headless_service_or_a_service_resolve_to_the_loopback()
    {
        // No cluster DNS here and every pod is at 127.0.0.1: the DNS names of the cluster's own Services and of pods
        // with a hostname under a headless Service are given to the process as that address; other values stay.
        var ns = await TestSupport.NewNamespaceAsync(_client, "dns");
        await _client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "gang" },
            Spec = new V1ServiceSpec { ClusterIP = "None", Selector = new Dictionary<string, string> { ["app"] = "gang" } },
        }, ns);
        var leader = ShellPod("leader", "trap 'exit 0' TERM; while true; do sleep 0.05; done");
        leader.Spec.Hostname = "rank0";
        leader.Spec.Subdomain = "gang";
        await _client.CoreV1.CreateNamespacedPodAsync(leader, ns);
        var reader = ShellPod("reader", "echo \"$SHORT|$QUALIFIED|$FULL|$SERVICE|$UNKNOWN|$PLAIN|$HOSTNAME\"");
        reader.Spec.Hostname = "rank1";
        reader.Spec.Subdomain = "gang";
        reader.Spec.Containers[0].Env =
        [
            new V1EnvVar { Name = "SHORT", Value = "rank0.gang" },
            new V1EnvVar { Name = "QUALIFIED", Value = $"rank0.gang.{ns}.svc" },
            new V1EnvVar { Name = "FULL", Value = $"rank0.gang.{ns}.svc.cluster.local" },
            new V1EnvVar { Name = "SERVICE", Value = $"gang.{ns}.svc" },
            new V1EnvVar { Name = "UNKNOWN", Value = "rank7.gang" },
            new V1EnvVar { Name = "PLAIN", Value = "example.org" },
        ];
        await _client.CoreV1.CreateNamespacedPodAsync(reader, ns);
        await WaitPodAsync(ns, "reader", p => p.Status?.Phase == "Succeeded");
        using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync("reader", ns);
        var log = (await new StreamReader(stream).ReadToEndAsync()).Trim();
        Assert.Equal("127.0.0.1|127.0.0.1|127.0.0.1|127.0.0.1|rank7.gang|example.org|rank1", log);
    }

    [Fact]
    public async Task Process_ignoring_sigterm_is_killed_after_the_grace_period()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "grace");
        await _client.CoreV1.CreateNamespacedPodAsync(ShellPod("stubborn", "trap '' TERM; while true; do sleep 0.05; done", grace: 1), ns);
        await WaitPodAsync(ns, "stubborn", p => p.Status?.Phase == "Running");
        var pid = _server.Kubelet.ProcessIds(ns, "stubborn")["main"];
        await _client.CoreV1.DeleteNamespacedPodAsync("stubborn", ns);
        var terminating = await _client.CoreV1.ReadNamespacedPodAsync("stubborn", ns);
        Assert.NotNull(terminating.Metadata.DeletionTimestamp);
        Assert.Equal(1, terminating.Metadata.DeletionGracePeriodSeconds);
        Assert.True(await TestSupport.GoneAsync(() => _client.CoreV1.ReadNamespacedPodAsync("stubborn", ns)));
        Assert.False(Alive(pid));
    }

    [Fact]
    public async Task Eviction_marks_the_pod_failed_with_disruption_target()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "evict");
        await _client.CoreV1.CreateNamespacedPodAsync(ShellPod("victim", "while true; do sleep 0.05; done", grace: 1), ns);
        await WaitPodAsync(ns, "victim", p => p.Status?.Phase == "Running");
        await _server.Kubelet.EvictAsync(ns, "victim");
        var evicted = await WaitPodAsync(ns, "victim", p => p.Status?.Phase == "Failed");
        Assert.Equal("Evicted", evicted.Status.Reason);
        Assert.Contains(evicted.Status.Conditions, c => c.Type == "DisruptionTarget" && c.Status == "True");
        Assert.NotNull(evicted.Status.ContainerStatuses[0].State.Terminated);
    }

    [Fact]
    public async Task Losing_the_node_makes_pods_unknown_then_deletes_them()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "lost");
        await _client.CoreV1.CreateNamespacedPodAsync(ShellPod("p", "while true; do sleep 0.05; done"), ns);
        await WaitPodAsync(ns, "p", p => p.Status?.Phase == "Running");
        var pid = _server.Kubelet.ProcessIds(ns, "p")["main"];
        var list = await _client.CoreV1.ListNamespacedPodAsync(ns);
        var phases = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var watch = Task.Run(async () =>
        {
            await foreach (var (type, pod) in _client.CoreV1.WatchListNamespacedPodAsync(ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
            {
                phases.Add(type == WatchEventType.Deleted ? "DELETED" : pod.Status.Phase);
                if (type == WatchEventType.Deleted)
                {
                    break;
                }
            }
        }, cts.Token);
        await Task.Delay(100, cts.Token);
        await _server.Kubelet.LoseNodeAsync();
        await watch;
        Assert.Contains("Unknown", phases);
        Assert.Equal("DELETED", phases[^1]);
        Assert.False(Alive(pid));
        // The node came back: new pods run again.
        await _client.CoreV1.CreateNamespacedPodAsync(ShellPod("after", "exit 0"), ns);
        Assert.Equal("Succeeded", (await WaitPodAsync(ns, "after", p => p.Status?.Phase is "Succeeded" or "Failed")).Status.Phase);
    }

    [Fact]
    public async Task Unknown_image_waits_with_err_image_pull_and_eviction_api_deletes()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "img");
        await _client.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = new V1ObjectMeta { Name = "x" }, Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "nope:1" }] } }, ns);
        var waiting = await WaitPodAsync(ns, "x", p => p.Status?.ContainerStatuses?[0].State.Waiting?.Reason is "ErrImagePull" or "ImagePullBackOff");
        Assert.Equal("Pending", waiting.Status.Phase);
        Assert.Contains("nope:1", waiting.Status.ContainerStatuses[0].State.Waiting.Message, StringComparison.Ordinal);
        await _client.CoreV1.CreateNamespacedPodEvictionAsync(new V1Eviction { Metadata = new V1ObjectMeta { Name = "x", NamespaceProperty = ns } }, "x", ns);
        Assert.True(await TestSupport.GoneAsync(() => _client.CoreV1.ReadNamespacedPodAsync("x", ns)));
        var e = await TestSupport.ApiErrorAsync(() => _client.CoreV1.ReadNamespacedPodAsync("x", ns));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
    }

    [Fact]
    public async Task Followed_log_streams_until_the_container_exits()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "logs");
        await _client.CoreV1.CreateNamespacedPodAsync(ShellPod("talker", "for i in 1 2 3; do echo line $i; sleep 0.2; done"), ns);
        await WaitPodAsync(ns, "talker", p => p.Status?.Phase is "Running" or "Succeeded");
        using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync("talker", ns, follow: true);
        var text = await new StreamReader(stream).ReadToEndAsync();
        Assert.Equal("line 1\nline 2\nline 3\n", text);
    }

    [Fact]
    public async Task A_pod_process_calls_the_api_as_its_service_account_through_its_kubeconfig()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "inpod");
        await _client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "reader" } }, ns);
        await _client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role { Metadata = new V1ObjectMeta { Name = "cm" }, Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["configmaps"], Verbs = ["list"] }] }, ns);
        await _client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "cm" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "cm" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "reader", NamespaceProperty = ns }],
        }, ns);
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "visible" } }, ns);
        V1Pod Kubectl(string name, params string[] args) => new()
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1PodSpec
            {
                RestartPolicy = "Never",
                ServiceAccountName = "reader",
                // kubectl in the pod finds the API through KUBECONFIG (server, CA file, token file) and its namespace.
                Containers = [new V1Container { Name = "main", Image = "kubectl:1.32", Args = ["--cache-dir", "/cache", .. args], VolumeMounts = [new V1VolumeMount { Name = "cache", MountPath = "/cache" }] }],
                Volumes = [new V1Volume { Name = "cache", EmptyDir = new V1EmptyDirVolumeSource() }],
            },
        };
        await _client.CoreV1.CreateNamespacedPodAsync(Kubectl("lister", "get", "configmaps", "-o", "name"), ns);
        await _client.CoreV1.CreateNamespacedPodAsync(Kubectl("denied", "get", "secrets", "-o", "name"), ns);
        var ok = await WaitPodAsync(ns, "lister", p => p.Status?.Phase is "Succeeded" or "Failed");
        using var okLog = await _client.CoreV1.ReadNamespacedPodLogAsync("lister", ns);
        var okText = await new StreamReader(okLog).ReadToEndAsync();
        Assert.True(ok.Status.Phase == "Succeeded", okText);
        Assert.Contains("configmap/visible", okText, StringComparison.Ordinal);
        var denied = await WaitPodAsync(ns, "denied", p => p.Status?.Phase is "Succeeded" or "Failed");
        Assert.Equal("Failed", denied.Status.Phase);
        using var deniedLog = await _client.CoreV1.ReadNamespacedPodLogAsync("denied", ns);
        Assert.Contains($"User \"system:serviceaccount:{ns}:reader\" cannot list resource \"secrets\"", await new StreamReader(deniedLog).ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Node_selector_the_node_does_not_satisfy_leaves_the_pod_unschedulable()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "sched");
        var unfit = ShellPod("unfit", "exit 0");
        unfit.Spec.NodeSelector = new Dictionary<string, string> { ["gpu"] = "a100" };
        var fit = ShellPod("fit", "exit 0");
        fit.Spec.NodeSelector = new Dictionary<string, string> { ["pool"] = "gpu", ["kubernetes.io/os"] = "linux" };
        await _client.CoreV1.CreateNamespacedPodAsync(unfit, ns);
        await _client.CoreV1.CreateNamespacedPodAsync(fit, ns);
        Assert.Equal("Succeeded", (await WaitPodAsync(ns, "fit", p => p.Status?.Phase is "Succeeded" or "Failed")).Status.Phase);
        var pending = await WaitPodAsync(ns, "unfit", p => p.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Reason == "Unschedulable") == true);
        Assert.Equal("Pending", pending.Status.Phase);
        Assert.Null(pending.Spec.NodeName);
        var events = (await _client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "involvedObject.name=unfit")).Items;
        Assert.Contains(events, e => e.Reason == "FailedScheduling" && e.Message.Contains("gpu=a100", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Gpu_requests_beyond_the_node_capacity_wait_until_a_gpu_frees_up()
    {
        var options = new EmulatorOptions { RunPods = true, StateDir = Path.Combine(_state, "gpu") };
        options.ImageMap["shell:1"] = "/bin/sh";
        options.NodeCapacity["nvidia.com/gpu"] = "1";
        await using var server = await KubeEmulatorServer.StartAsync(options);
        using var client = server.CreateClient();
        V1Pod GpuPod(string name, string script)
        {
            var p = ShellPod(name, script);
            p.Spec.Containers[0].Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["nvidia.com/gpu"] = new("1") } };
            return p;
        }
        await client.CoreV1.CreateNamespacedPodAsync(GpuPod("first", "trap 'exit 0' TERM; while true; do sleep 0.05; done"), "default");
        Assert.True(await TestSupport.EventuallyAsync(async () => (await client.CoreV1.ReadNamespacedPodAsync("first", "default")).Status?.Phase == "Running"));
        await client.CoreV1.CreateNamespacedPodAsync(GpuPod("second", "exit 0"), "default");
        V1Pod? waiting = null;
        Assert.True(await TestSupport.EventuallyAsync(async () =>
        {
            waiting = await client.CoreV1.ReadNamespacedPodAsync("second", "default");
            return waiting.Status?.Conditions?.Any(c => c.Reason == "Unschedulable") == true;
        }));
        Assert.Equal("Pending", waiting!.Status.Phase);
        Assert.Contains("Insufficient nvidia.com/gpu", waiting.Status.Conditions.Single(c => c.Type == "PodScheduled").Message, StringComparison.Ordinal);
        // The GPU frees up when the first pod goes away: the second is scheduled and runs.
        await client.CoreV1.DeleteNamespacedPodAsync("first", "default");
        Assert.True(await TestSupport.EventuallyAsync(async () => (await client.CoreV1.ReadNamespacedPodAsync("second", "default")).Status?.Phase == "Succeeded", 30));
    }

    [Fact]
    public async Task Processes_left_behind_by_a_container_die_with_it()
    {
        var ns = await TestSupport.NewNamespaceAsync(_client, "orphan");
        await _client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = new V1ObjectMeta { Name = "out" },
            Spec = new V1PersistentVolumeClaimSpec { AccessModes = ["ReadWriteOnce"], Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } } },
        }, ns);
        var pod = ShellPod("parent", "sleep 300 & echo $! > /out/child; exit 0");
        pod.Spec.Containers[0].VolumeMounts = [new V1VolumeMount { Name = "out", MountPath = "/out" }];
        pod.Spec.Volumes = [new V1Volume { Name = "out", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = "out" } }];
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        Assert.Equal("Succeeded", (await WaitPodAsync(ns, "parent", p => p.Status?.Phase is "Succeeded" or "Failed")).Status.Phase);
        var child = int.Parse((await File.ReadAllTextAsync(Path.Combine(_server.Kubelet.PvcHostPath(ns, "out"), "child"))).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(await TestSupport.EventuallyAsync(() => Task.FromResult(!Alive(child))), $"the background child {child} outlived its container");
    }
}
