using BiT.Contracts.Api;

namespace BiT.Contracts.Tests.Api;

public sealed class PodTemplateTests
{
    private static string Job(string podTemplate, string dataset = "  dataset: {format: Idx, path: /data/mnist, numClasses: 10, volume: {claimName: data}}") => $"""
        apiVersion: bit.training/v1alpha1
        kind: BiTFineTuneJob
        metadata:
          name: t
        spec:
          model: {"{"}architecture: Custom, blocks: [1, 1, 1, 1], widthFactor: 0.5{"}"}
        {dataset}
          podTemplate:
        {string.Join('\n', podTemplate.Split('\n').Select(l => "    " + l))}
        """;

    [Fact]
    public void A_full_pod_template_binds_into_the_kubernetes_types()
    {
        var job = ManifestParser.Parse(Job("""
            labels: {team: vision}
            annotations: {example.com/owner: "ml platform"}
            affinity:
              nodeAffinity:
                requiredDuringSchedulingIgnoredDuringExecution:
                  nodeSelectorTerms:
                  - matchExpressions: [{key: gpu, operator: In, values: [a100, h100]}]
            imagePullSecrets: [{name: registry}]
            env:
            - {name: HF_HOME, value: /cache}
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: tokens, key: hub}}
            envFrom: [{configMapRef: {name: proxy}}]
            volumes:
            - name: cache
              emptyDir: {sizeLimit: 2Gi}
            volumeMounts: [{name: cache, mountPath: /cache}]
            runtimeClassName: nvidia
            sidecars:
            - name: uploader
              image: example.com/uploader:1
              volumeMounts: [{name: checkpoints, mountPath: /checkpoints, readOnly: true}]
              readinessProbe: {httpGet: {port: 8080}}
            """));
        var t = job.Spec.PodTemplate!;
        Assert.Equal("vision", t.Labels!["team"]);
        Assert.Equal(["a100", "h100"], t.Affinity!.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values);
        Assert.Equal("hub", t.Env![1].ValueFrom.SecretKeyRef.Key);
        Assert.Equal("proxy", t.EnvFrom![0].ConfigMapRef.Name);
        Assert.Equal("2Gi", t.Volumes![0].EmptyDir.SizeLimit.ToString());
        Assert.Equal("8080", t.Sidecars![0].ReadinessProbe.HttpGet.Port.Value);
        Assert.True(t.Sidecars[0].VolumeMounts[0].ReadOnlyProperty);
        Assert.Equal("nvidia", t.RuntimeClassName);
    }

    [Theory]
    [InlineData("volumes: [{name: plan, emptyDir: {}}]", "spec.podTemplate.volumes[0].name: 'plan' is a volume of the trainer pod itself")]
    [InlineData("volumes: [{name: a, emptyDir: {}}, {name: a, emptyDir: {}}]", "spec.podTemplate.volumes[1].name: 'a' names two volumes")]
    [InlineData("volumes: [{name: a}]", "spec.podTemplate.volumes[0]: give exactly one volume source")]
    [InlineData("volumes: [{name: a, emptyDir: {}, secret: {secretName: s}}]", "spec.podTemplate.volumes[0]: give exactly one volume source")]
    [InlineData("volumes: [{name: Big_Name, emptyDir: {}}]", "spec.podTemplate.volumes[0].name: required: a DNS-1123 label")]
    [InlineData("volumes: [{name: a, emptyDir: {}}]\nvolumeMounts: [{name: a, mountPath: /checkpoints/x}]", "spec.podTemplate.volumeMounts[0].mountPath: must not be at, above or inside /checkpoints")]
    [InlineData("volumes: [{name: a, emptyDir: {}}]\nvolumeMounts: [{name: a, mountPath: /etc}]", "spec.podTemplate.volumeMounts[0].mountPath: must not be at, above or inside /etc")]
    [InlineData("volumes: [{name: a, emptyDir: {}}]\nvolumeMounts: [{name: a, mountPath: /data}]", "spec.podTemplate.volumeMounts[0].mountPath: must not be at, above or inside spec.dataset.path (/data/mnist)")]
    [InlineData("volumes: [{name: a, emptyDir: {}}]\nvolumeMounts: [{name: a, mountPath: cache}]", "spec.podTemplate.volumeMounts[0].mountPath: must be an absolute path")]
    [InlineData("volumeMounts: [{name: nope, mountPath: /cache}]", "spec.podTemplate.volumeMounts[0].name: 'nope' is not a volume of spec.podTemplate.volumes")]
    [InlineData("volumeMounts: [{name: checkpoints, mountPath: /cache}]", "spec.podTemplate.volumeMounts[0].name: 'checkpoints' is mounted by the operator itself")]
    [InlineData("sidecars: [{name: trainer, image: x}]", "spec.podTemplate.sidecars[0].name: 'trainer' is the trainer's container")]
    [InlineData("sidecars: [{name: a}]", "spec.podTemplate.sidecars[0].image: required")]
    [InlineData("sidecars: [{name: a, image: x}, {name: a, image: y}]", "spec.podTemplate.sidecars[1].name: 'a' names two sidecars")]
    [InlineData("sidecars: [{name: a, image: x, securityContext: {privileged: true}}]", "spec.podTemplate.sidecars[0].securityContext.privileged: must not be true")]
    [InlineData("sidecars: [{name: a, image: x, restartPolicy: Never}]", "spec.podTemplate.sidecars[0].restartPolicy: must be Always or left out")]
    [InlineData("sidecars: [{name: a, image: x, volumeMounts: [{name: pretrained, mountPath: /p}]}]", "spec.podTemplate.sidecars[0].volumeMounts[0].name: 'pretrained' is not a volume of spec.podTemplate.volumes nor of the pod (checkpoints, dataset, plan, tmp)")]
    [InlineData("labels: {\"bad key!\": x}", "spec.podTemplate.labels[bad key!]: the key must be a label key")]
    [InlineData("labels: {team: \"not a value\"}", "spec.podTemplate.labels[team]: the value must be a label value")]
    [InlineData("env: [{value: x}]", "spec.podTemplate.env[0].name: required")]
    [InlineData("envFrom: [{prefix: X_}]", "spec.podTemplate.envFrom[0]: give configMapRef or secretRef, exactly one")]
    [InlineData("imagePullSecrets: [{name: \"\"}]", "spec.podTemplate.imagePullSecrets[0].name: required")]
    [InlineData("runtimeClassName: Not_Valid", "spec.podTemplate.runtimeClassName: must be a DNS-1123 subdomain")]
    [InlineData("affinity: {nodeAfinity: {}}", "spec.podTemplate.affinity")]
    [InlineData("volumes: [{name: a, emptyDir: {sizeLimit: 2Gx}}]", "spec.podTemplate.volumes[0]: not a valid V1Volume")]
    public void What_would_break_the_pod_is_refused_naming_the_field(string podTemplate, string expected)
    {
        var ex = Assert.Throws<ManifestException>(() => ManifestParser.Parse(Job(podTemplate)));
        Assert.Contains(ex.Errors, e => e.ToString().StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_sidecar_may_mount_the_pods_own_volumes_and_a_trainer_mount_elsewhere_is_fine()
    {
        var job = ManifestParser.Parse(Job("""
            volumes: [{name: cache, emptyDir: {}}]
            volumeMounts: [{name: cache, mountPath: /cache}]
            sidecars:
            - {name: board, image: x, volumeMounts: [{name: checkpoints, mountPath: /logs, readOnly: true}, {name: dataset, mountPath: /d}, {name: cache, mountPath: /c}]}
            """));
        Assert.Equal(3, job.Spec.PodTemplate!.Sidecars![0].VolumeMounts.Count);
    }
}
