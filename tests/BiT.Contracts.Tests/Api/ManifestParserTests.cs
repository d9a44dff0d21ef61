using BiT.Contracts.Api;
using BiT.Contracts.Rules;

namespace BiT.Contracts.Tests.Api;

public sealed class ManifestParserTests
{
    private static ManifestException Invalid(string yaml) => Assert.Throws<ManifestException>(() => ManifestParser.Parse(yaml));

    private static string Spec(string body) => $"""
        apiVersion: bit.training/v1alpha1
        kind: BiTFineTuneJob
        metadata:
          name: t
        spec:
        {Indent(body)}
        """;

    private static string Indent(string body) => string.Join('\n', body.Split('\n').Select(l => "  " + l));

    private static string Dataset(string extra = "") => $"""
        dataset:
          format: Idx
          path: data
          numClasses: 10
        {extra}
        """;

    private static string Custom(string extra = "") => $"""
        model:
          architecture: Custom
          blocks: [1, 1, 1, 1]
          widthFactor: 0.5
        {Dataset()}
        {extra}
        """;

    [Fact]
    public void Minimal_fine_tune_parses()
    {
        var job = Assert.IsType<BiTFineTuneJob>(ManifestParser.Parse(Manifests.MinimalFineTune));
        Assert.Equal("pets", job.Metadata.Name);
        Assert.Equal(ApiInfo.FineTuneKind, job.Kind);
        Assert.Equal("R50x1", job.Spec.Model!.Architecture);
        Assert.Equal("/weights/BiT-M-R50x1.npz", job.Spec.Model.Weights!.Path);
        Assert.Equal(DatasetFormat.ImageFolder, job.Spec.Dataset!.Format);
        Assert.Equal(37, job.Spec.Dataset.NumClasses);
        Assert.Null(job.Spec.Hyperparameters);
    }

    [Fact]
    public void Every_field_of_the_documented_spec_parses_to_its_value()
    {
        var job = ManifestParser.Parse(Manifests.FullFineTune);
        var s = job.Spec;
        Assert.Equal("ml", job.Metadata.Namespace);
        Assert.Equal("1", job.Metadata.Labels!["tier"]);
        Assert.Equal(0.0, s.Hyperparameters!.MixupAlpha);
        Assert.Equal(new[] { 200, 300, 400 }, s.Hyperparameters.DecaySteps);
        Assert.Equal(ResolutionRule.Reference, s.Hyperparameters.Resolution);
        Assert.Equal(5, s.Dataset!.FewShot!.ExamplesPerClass);
        Assert.Equal(375, s.Dataset.ImageSize!.Width);
        Assert.Equal("pets-data", s.Dataset.Volume!.ClaimName);
        Assert.Equal("pets-ckpt", s.Checkpoint!.Volume!.ClaimName);
        Assert.Equal(CheckpointRetention.Delete, s.Checkpoint.Volume.OnDelete);
        Assert.Equal("8", s.Resources!.Cpu);
        Assert.Equal("32Gi", s.Resources.Memory);
        Assert.Empty(s.Resources.Tolerations!);
        Assert.Equal(TimeSpan.FromMinutes(15), s.RunPolicy!.StallTimeout!.Value.Value);
        Assert.Equal(TimeSpan.FromHours(24), s.RunPolicy.MaxSegmentDuration!.Value.Value);
        Assert.Equal(StallAction.Restart, s.RunPolicy.OnStall);
        Assert.False(s.Suspend);
        Assert.Equal(0L, s.Seed);
    }

    [Fact]
    public void Checkpoint_retention_defaults_to_delete_for_a_created_claim_and_retain_for_an_existing_one()
    {
        Assert.Equal(CheckpointRetention.Delete, new CheckpointVolumeSpec { Size = "1Gi" }.EffectiveOnDelete);
        Assert.Equal(CheckpointRetention.Retain, new CheckpointVolumeSpec { ClaimName = "shared" }.EffectiveOnDelete);
        Assert.Equal(CheckpointRetention.Retain, new CheckpointVolumeSpec { Size = "1Gi", OnDelete = CheckpointRetention.Retain }.EffectiveOnDelete);
        Assert.Equal(CheckpointRetention.Delete, new CheckpointVolumeSpec { ClaimName = "shared", OnDelete = CheckpointRetention.Delete }.EffectiveOnDelete);
    }

    [Fact]
    public void Pretrain_job_parses_with_its_own_fields()
    {
        var job = Assert.IsType<BiTPretrainJob>(ManifestParser.Parse(Manifests.Pretrain));
        Assert.True(job.IsPretrain);
        Assert.Equal(LossFunction.Sigmoid, job.Spec.Hyperparameters!.Loss);
        Assert.Equal(new[] { 30.0, 60.0, 80.0 }, job.Spec.Hyperparameters.DecayEpochs);
        Assert.Null(job.Spec.Model!.Weights);
    }

    [Fact]
    public void Unquoted_cpu_is_accepted_as_a_quantity()
    {
        var job = ManifestParser.Parse(Spec(Custom("resources: {cpu: 8, memory: 1e3}")));
        Assert.Equal("8", job.Spec.Resources!.Cpu);
        Assert.Equal("1e3", job.Spec.Resources.Memory);
    }

    [Theory]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numClasses: 1", "spec.dataset.numClasses: must be >= 2, got 1")]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numClasses: ten", "spec.dataset.numClasses: expected an integer, got 'ten'")]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numClasses: \"10\"", "spec.dataset.numClasses: expected an integer, got '10'")]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numClasses: 2.5", "spec.dataset.numClasses: expected an integer, got the number 2.5")]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numClasses: 99999999999", "spec.dataset.numClasses: must be at most 2147483647")]
    [InlineData("dataset:\n  format: Idx\n  path: data", "spec.dataset.numClasses: required")]
    [InlineData("dataset:\n  format: idx\n  path: data\n  numClasses: 10", "spec.dataset.format: must be one of ImageFolder, Idx, CifarBinary, got 'idx' (did you mean Idx?)")]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numclasses: 10", "spec.dataset.numclasses: unknown field (did you mean numClasses?)")]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numClasses: 10\n  labels: 3", "spec.dataset.labels: unknown field (allowed: format, path, volume, numClasses, classes, trainExamples, imageSize, fewShot)")]
    [InlineData("dataset:\n  format: Idx\n  path: \"\"\n  numClasses: 10", "spec.dataset.path: required")]
    [InlineData("dataset: [1, 2]", "spec.dataset: expected an object (key: value pairs), got a list")]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numClasses: 10\n  imageSize: {height: 0, width: 28}", "spec.dataset.imageSize.height: must be >= 1, got 0")]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numClasses: 10\n  imageSize: {height: 28}", "spec.dataset.imageSize.width: required")]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numClasses: 10\n  fewShot: {examplesPerClass: 0}", "spec.dataset.fewShot.examplesPerClass: must be >= 1, got 0")]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numClasses: 3\n  classes: [0, 1]", "spec.dataset.numClasses: must equal the number of classes listed in spec.dataset.classes (2), got 3")]
    [InlineData("dataset:\n  format: Idx\n  path: data\n  numClasses: 2\n  classes: [1, 1]", "spec.dataset.classes[1]: lists label 1 twice")]
    public void Dataset_errors_name_the_field_and_what_was_expected(string dataset, string expected)
    {
        var yaml = Spec($"model:\n  architecture: Custom\n  blocks: [1, 1, 1, 1]\n  widthFactor: 0.5\n{dataset}");
        var ex = Invalid(yaml);
        Assert.Contains(ex.Errors, e => e.ToString().StartsWith(expected, StringComparison.Ordinal));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("architecture: R51x1", "spec.model.architecture: must be one of R50x1, R50x3, R101x1, R101x3, R152x2, R152x4 (optionally BiT-S-/BiT-M-), Custom, got 'R51x1'")]
    [InlineData("architecture: Custom\nwidthFactor: 0.5", "spec.model.blocks: required with architecture Custom")]
    [InlineData("architecture: Custom\nblocks: [1, 1, 1, 1]", "spec.model.widthFactor: required with architecture Custom")]
    [InlineData("architecture: Custom\nblocks: [1, 1, 1]\nwidthFactor: 0.5", "spec.model.blocks: must have exactly 4 items, got 3")]
    [InlineData("architecture: Custom\nblocks: [1, 0, 1, 1]\nwidthFactor: 0.5", "spec.model.blocks[1]: must be >= 1, got 0")]
    [InlineData("architecture: Custom\nblocks: [1, x, 1, 1]\nwidthFactor: 0.5", "spec.model.blocks[1]: expected an integer, got 'x'")]
    [InlineData("architecture: Custom\nblocks: [1, 1, 1, 1]\nwidthFactor: 0.3", "spec.model.widthFactor: must be a multiple of 0.5")]
    [InlineData("architecture: Custom\nblocks: [1, 1, 1, 1]\nwidthFactor: 0", "spec.model.widthFactor: must be > 0, got 0")]
    [InlineData("architecture: R50x1\nblocks: [1, 1, 1, 1]", "spec.model.blocks: only allowed with architecture Custom")]
    [InlineData("architecture: R50x1\nweights: {}", "spec.model.weights: exactly one of url, path, fromPretrainJob must be set, got none")]
    [InlineData("architecture: R50x1\nweights: {path: a.npz, fromPretrainJob: {name: up}}", "spec.model.weights: exactly one of url, path, fromPretrainJob must be set, got path, fromPretrainJob")]
    [InlineData("architecture: R50x1\nweights: {url: https://x.org/a.npz}", "spec.model.weights.sha256: required with url")]
    [InlineData("architecture: R50x1\nweights: {url: ftp://x.org/a.npz, sha256: 0000000000000000000000000000000000000000000000000000000000000000}", "spec.model.weights.url: must be an http:// or https:// URL, got 'ftp://x.org/a.npz'")]
    [InlineData("architecture: R50x1\nweights: {path: a.npz, sha256: ABC}", "spec.model.weights.sha256: must be 64 lowercase hex digits, got 'ABC'")]
    [InlineData("architecture: R50x1\nweights: {fromPretrainJob: {}}", "spec.model.weights.fromPretrainJob.name: required")]
    [InlineData("architecture: R50x1\nweights: {fromPretrainJob: {name: Up_Stream}}", "spec.model.weights.fromPretrainJob.name: must be a DNS-1123 subdomain, got 'Up_Stream'")]
    public void Model_errors_name_the_field(string model, string expected)
    {
        var ex = Invalid(Spec($"model:\n{Indent(model)}\n{Dataset()}"));
        Assert.Contains(ex.Errors, e => e.ToString().StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("batchSize: 0", "spec.hyperparameters.batchSize: must be >= 1, got 0")]
    [InlineData("batchSize: 100\nbatchSplit: 3", "spec.hyperparameters.batchSplit: must divide batchSize 100, got 3")]
    [InlineData("batchSplit: 3", "spec.hyperparameters.batchSplit: must divide the default batchSize 512, got 3")]
    [InlineData("baseLearningRate: 0", "spec.hyperparameters.baseLearningRate: must be > 0, got 0")]
    [InlineData("baseLearningRate: .nan", "spec.hyperparameters.baseLearningRate: must be a finite number, got .nan")]
    [InlineData("baseLearningRate: fast", "spec.hyperparameters.baseLearningRate: expected a number, got 'fast'")]
    [InlineData("totalSteps: 10\nwarmupSteps: 11", "spec.hyperparameters.warmupSteps: must be <= totalSteps (10), got 11")]
    [InlineData("decaySteps: [300, 200]", "spec.hyperparameters.decaySteps[1]: must be greater than decaySteps[0] (300), got 200")]
    [InlineData("totalSteps: 100\ndecaySteps: [50, 100]", "spec.hyperparameters.decaySteps[1]: must be < totalSteps (100), got 100")]
    [InlineData("decaySteps: 200", "spec.hyperparameters.decaySteps: expected a list, got '200'")]
    [InlineData("precropSize: 100\ncropSize: 128", "spec.hyperparameters.cropSize: must be <= precropSize (100), got 128")]
    [InlineData("mixupAlpha: -0.1", "spec.hyperparameters.mixupAlpha: must be >= 0, got -0.1")]
    [InlineData("resolution: paper", "spec.hyperparameters.resolution: must be one of Reference, Paper, got 'paper' (did you mean Paper?)")]
    [InlineData("epochs: 10", "spec.hyperparameters.epochs: only allowed in a BiTPretrainJob")]
    [InlineData("weightDecay: 0.1", "spec.hyperparameters.weightDecay: only allowed in a BiTPretrainJob")]
    [InlineData("loss: Sigmoid", "spec.hyperparameters.loss: only allowed in a BiTPretrainJob")]
    [InlineData("scaleLearningRateWithBatch: yes", "spec.hyperparameters.scaleLearningRateWithBatch: expected true or false, got 'yes'")]
    public void Hyperparameter_errors_name_the_field(string hyper, string expected)
    {
        var ex = Invalid(Spec(Custom($"hyperparameters:\n{Indent(hyper)}")));
        Assert.Contains(ex.Errors, e => e.ToString().StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("mixupAlpha: 0.1", "spec.hyperparameters.mixupAlpha: only allowed in a BiTFineTuneJob")]
    [InlineData("precropSize: 256", "spec.hyperparameters.precropSize: only allowed in a BiTFineTuneJob")]
    [InlineData("warmupSteps: 5\nwarmupEpochs: 1", "spec.hyperparameters.warmupEpochs: give warmupSteps or warmupEpochs, not both")]
    [InlineData("decaySteps: [5]\ndecayEpochs: [1]", "spec.hyperparameters.decayEpochs: give decaySteps or decayEpochs, not both")]
    [InlineData("epochs: 10\ndecayEpochs: [5, 10]", "spec.hyperparameters.decayEpochs[1]: must be < epochs (10), got 10")]
    [InlineData("decayEpochs: [95]", "spec.hyperparameters.decayEpochs[0]: must be < epochs (90), got 95")]
    [InlineData("loss: softmax", "spec.hyperparameters.loss: must be one of Softmax, Sigmoid, got 'softmax' (did you mean Softmax?)")]
    [InlineData("batchSplit: 3", "spec.hyperparameters.batchSplit: must divide the default batchSize 4096, got 3")]
    public void Pretrain_hyperparameter_errors_name_the_field(string hyper, string expected)
    {
        var yaml = Spec(Custom($"hyperparameters:\n{Indent(hyper)}")).Replace("BiTFineTuneJob", "BiTPretrainJob", StringComparison.Ordinal);
        var ex = Invalid(yaml);
        Assert.Contains(ex.Errors, e => e.ToString().StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("checkpoint: {everySteps: 0}", "spec.checkpoint.everySteps: must be >= 1, got 0")]
    [InlineData("checkpoint: {volume: {claimName: a, size: 1Gi}}", "spec.checkpoint.volume: give claimName (an existing claim) or size (a new claim), not both")]
    [InlineData("checkpoint: {volume: {storageClassName: fast}}", "spec.checkpoint.volume.storageClassName: needs size")]
    [InlineData("checkpoint: {volume: {size: lots}}", "spec.checkpoint.volume.size: must be a non-negative quantity such as 10Gi, got 'lots'")]
    [InlineData("checkpoint: {volume: {size: 1Gi, onDelete: Keep}}", "spec.checkpoint.volume.onDelete: must be one of Retain, Delete, got 'Keep'")]
    [InlineData("seed: -1", "spec.seed: must be >= 0, got -1")]
    [InlineData("suspend: 1", "spec.suspend: expected true or false, got the number 1")]
    [InlineData("image: 'bad image'", "spec.image: must be an image reference")]
    [InlineData("image: 5", "spec.image: expected a string, got the number 5 (quote it if it is meant as text)")]
    [InlineData("resources: {gpus: -1}", "spec.resources.gpus: must be >= 0, got -1")]
    [InlineData("resources: {memory: 32GB}", "spec.resources.memory: must be a non-negative quantity such as 32Gi, got '32GB'")]
    [InlineData("resources: {tolerations: [{operator: Sometimes}]}", "spec.resources.tolerations[0].operator: must be Exists or Equal, got 'Sometimes'")]
    [InlineData("resources: {tolerations: [{operator: Exists, value: x}]}", "spec.resources.tolerations[0].value: must be empty with operator Exists")]
    [InlineData("resources: {nodeSelector: {a: [1]}}", "spec.resources.nodeSelector[a]: expected a string, got a list")]
    [InlineData("runPolicy: {stallTimeout: 15 minutes}", "spec.runPolicy.stallTimeout: '15 minutes' has an unknown unit ' minutes'")]
    [InlineData("runPolicy: {stallTimeout: 15}", "spec.runPolicy.stallTimeout: '15' has a number without a unit")]
    [InlineData("runPolicy: {stallTimeout: 0s}", "spec.runPolicy.stallTimeout: must be longer than 0")]
    [InlineData("runPolicy: {onStall: restart}", "spec.runPolicy.onStall: must be one of Restart, Fail, None, got 'restart' (did you mean Restart?)")]
    [InlineData("runPolicy: {maxRestarts: -1}", "spec.runPolicy.maxRestarts: must be >= 0, got -1")]
    [InlineData("runPolicy: {backoffSeconds: 601}", "spec.runPolicy.backoffSeconds: must be <= 600, got 601")]
    [InlineData("unknown: 1", "spec.unknown: unknown field (allowed: model, dataset, hyperparameters, checkpoint, seed, suspend, image, resources, runPolicy, podTemplate)")]
    public void Other_spec_errors_name_the_field(string extra, string expected)
    {
        var ex = Invalid(Spec(Custom(extra)));
        Assert.Contains(ex.Errors, e => e.ToString().StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_error_is_reported_at_once_and_a_failed_field_is_not_reported_twice()
    {
        var yaml = Spec("""
            model:
              architecture: Custom
              blocks: [1, 1, 1, 1]
              widthFactor: 0.3
            dataset:
              format: Idx
              numClasses: ten
              size: 3
            hyperparameters:
              batchSize: 0
            """);
        var ex = Invalid(yaml);
        var paths = ex.Errors.Select(e => e.Path).ToList();
        Assert.Equal(
            ["spec.dataset.numClasses", "spec.dataset.path", "spec.dataset.size", "spec.hyperparameters.batchSize", "spec.model.widthFactor"],
            paths.Order(StringComparer.Ordinal));
        Assert.Equal(paths.Count, paths.Distinct().Count());
        Assert.StartsWith("invalid manifest (5 errors):", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_carry_the_yaml_line()
    {
        var ex = Invalid(Spec(Custom("seed: -1")));
        var error = Assert.Single(ex.Errors);
        Assert.NotNull(error.Line);
        var lines = Spec(Custom("seed: -1")).Split('\n');
        Assert.Contains("seed: -1", lines[error.Line!.Value - 1], StringComparison.Ordinal);
        Assert.EndsWith($"(line {error.Line})", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "(manifest): is empty")]
    [InlineData("# only a comment\n", "(manifest): is empty")]
    [InlineData("- a\n- b\n", "(manifest): expected an object")]
    [InlineData("apiVersion: [\n", "(yaml): not valid YAML")]
    [InlineData("a: b\n  c: d\n", "(yaml): not valid YAML")]
    [InlineData("apiVersion: bit.training/v1alpha1\nkind: BiTFineTuneJob\nkind: BiTFineTuneJob\n", "(yaml): not valid YAML")]
    [InlineData("apiVersion: bit.training/v1alpha1\nkind: Job\n", "kind: must be BiTFineTuneJob or BiTPretrainJob, got 'Job'")]
    [InlineData("apiVersion: bit.training/v1alpha1\n", "kind: required")]
    [InlineData("kind: BiTFineTuneJob\nmetadata: {name: a}\nspec: {}\n", "apiVersion: required")]
    [InlineData("apiVersion: batch/v1\nkind: BiTFineTuneJob\nmetadata: {name: a}\nspec: {}\n", "apiVersion: must be bit.training/v1alpha1, got 'batch/v1'")]
    [InlineData("apiVersion: bit.training/v1alpha1\nkind: BiTFineTuneJob\nspec: {}\n", "metadata: required")]
    [InlineData("apiVersion: bit.training/v1alpha1\nkind: BiTFineTuneJob\nmetadata: {}\nspec: {}\n", "metadata.name: required")]
    [InlineData("apiVersion: bit.training/v1alpha1\nkind: BiTFineTuneJob\nmetadata: {name: Pets}\nspec: {}\n", "metadata.name: must be a DNS-1123 subdomain")]
    [InlineData("apiVersion: bit.training/v1alpha1\nkind: BiTFineTuneJob\nmetadata: {name: a}\n", "spec: required")]
    [InlineData("apiVersion: bit.training/v1alpha1\nkind: BiTFineTuneJob\nmetadata: {name: a}\nspec: {}\n", "spec.model: required")]
    [InlineData("apiVersion: bit.training/v1alpha1\nkind: BiTFineTuneJob\nmetadata: {name: a}\nspec:\n", "spec: required")]
    [InlineData("apiVersion: bit.training/v1alpha1\nkind: BiTFineTuneJob\nmetadata: {name: a}\nspec: {}\nextra: 1\n", "extra: unknown field")]
    [InlineData("a: 1\n---\nb: 2\n", "(manifest): holds 2 YAML documents")]
    [InlineData("apiVersion: bit.training/v1alpha1\nkind: BiTFineTuneJob\nmetadata: {name: a}\nspec: *x\n", "(yaml): not valid YAML")]
    public void Malformed_documents_get_a_clear_error_never_a_yaml_exception(string yaml, string expected)
    {
        var ex = Invalid(yaml);
        Assert.Contains(ex.Errors, e => e.ToString().StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Explicit_null_is_the_same_as_leaving_a_field_out()
    {
        var job = ManifestParser.Parse(Spec(Custom("seed: null\nhyperparameters: ~")));
        Assert.Null(job.Spec.Seed);
        Assert.Null(job.Spec.Hyperparameters);
    }

    [Fact]
    public void Status_in_a_manifest_is_read_strictly_too()
    {
        var ex = Invalid(Manifests.MinimalFineTune + "\nstatus:\n  phase: Runing\n");
        Assert.Contains(ex.Errors, e => e.Path == "status.phase" && e.Message.Contains("did you mean Running?", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_file_names_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}.yaml");
        var ex = Assert.Throws<ManifestException>(() => ManifestParser.ParseFile(path));
        Assert.Equal(path, ex.SourceFile);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Huge_input_is_refused_without_parsing()
    {
        var ex = Invalid(new string('#', ManifestParser.MaxManifestChars + 1));
        Assert.Contains("at most", ex.Errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_example_manifest_parses_and_validates()
    {
        var files = Directory.GetFiles(Path.Combine(RepoPaths.Root, "examples"), "*.yaml");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var job = ManifestParser.ParseFile(file);
            Assert.Empty(SpecValidator.Validate(job));
        }

        Assert.IsType<BiTPretrainJob>(ManifestParser.ParseFile(Path.Combine(RepoPaths.Root, "examples", "pretrain-fashion-mnist-5.yaml")));
        var small = ManifestParser.ParseFile(Path.Combine(RepoPaths.Root, "examples", "finetune-fashion-mnist.yaml"));
        Assert.Equal("Custom", small.Spec.Model!.Architecture);
        Assert.Equal(DatasetFormat.Idx, small.Spec.Dataset!.Format);
        Assert.Equal("../data/fashion-mnist-subset", small.Spec.Dataset.Path);
        Assert.Equal(10, small.Spec.Dataset.NumClasses);
    }
}
