namespace BiT.Contracts.Tests.Api;

/// <summary>Manifest texts for the tests.</summary>
internal static class Manifests
{
    public const string MinimalFineTune = """
        apiVersion: bit.training/v1alpha1
        kind: BiTFineTuneJob
        metadata:
          name: pets
        spec:
          model:
            architecture: R50x1
            weights:
              path: /weights/BiT-M-R50x1.npz
          dataset:
            format: ImageFolder
            path: /data/pets
            numClasses: 37
        """;

    /// <summary>Every field of api.md's spec (fine-tuning flavour).</summary>
    public const string FullFineTune = """
        apiVersion: bit.training/v1alpha1
        kind: BiTFineTuneJob
        metadata:
          name: pets
          namespace: ml
          labels: {team: vision, tier: "1"}
          annotations: {note: hello}
        spec:
          model:
            architecture: BiT-M-R50x1
            weights:
              url: https://example.org/BiT-M-R50x1.npz
              sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          dataset:
            format: ImageFolder
            path: /data/pets
            volume: {claimName: pets-data}
            numClasses: 37
            trainExamples: 3680
            imageSize: {height: 500, width: 375}
            fewShot: {examplesPerClass: 5, seed: 0}
          hyperparameters:
            batchSize: 512
            batchSplit: 1
            baseLearningRate: 0.003
            totalSteps: 500
            warmupSteps: 100
            decaySteps: [200, 300, 400]
            precropSize: 160
            cropSize: 128
            mixupAlpha: 0.0
            resolution: Reference
          checkpoint:
            everySteps: 100
            everySeconds: 600
            keep: 3
            volume:
              claimName: pets-ckpt
              onDelete: Delete
          seed: 0
          suspend: false
          image: ghcr.io/bit-operator/trainer:0.1.0
          resources:
            gpus: 1
            cpu: "8"
            memory: 32Gi
            nodeSelector: {}
            tolerations: []
            priorityClassName: ""
          runPolicy:
            maxRestarts: 10
            backoffSeconds: 10
            stallTimeout: 15m
            onStall: Restart
            maxSegmentDuration: 24h
            activeDeadlineSeconds: 0
            ttlSecondsAfterFinished: 0
            cleanupSecondsAfterFinished: 0
          podTemplate:
            labels: {cost-center: ml}
            annotations: {example.com/owner: vision}
            affinity:
              nodeAffinity:
                requiredDuringSchedulingIgnoredDuringExecution:
                  nodeSelectorTerms:
                  - matchExpressions: [{key: gpu, operator: In, values: [a100]}]
            imagePullSecrets: [{name: registry}]
            env:
            - {name: HF_HOME, value: /cache}
            envFrom: [{secretRef: {name: tokens}}]
            volumes: [{name: cache, emptyDir: {sizeLimit: 2Gi}}]
            volumeMounts: [{name: cache, mountPath: /cache}]
            runtimeClassName: nvidia
            sidecars:
            - name: uploader
              image: example.com/uploader:1
              volumeMounts: [{name: checkpoints, mountPath: /ckpt, readOnly: true}]
        """;

    public const string Pretrain = """
        apiVersion: bit.training/v1alpha1
        kind: BiTPretrainJob
        metadata:
          name: upstream
        spec:
          model:
            architecture: R50x1
          dataset:
            format: ImageFolder
            path: /data/imagenet
            numClasses: 1000
          hyperparameters:
            epochs: 90
            decayEpochs: [30, 60, 80]
            warmupEpochs: 5
            weightDecay: 0.0001
            loss: Sigmoid
            cropSize: 224
        """;
}
