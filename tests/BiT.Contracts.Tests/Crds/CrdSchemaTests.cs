using System.Reflection;
using System.Text.RegularExpressions;
using BiT.Contracts.Api;
using BiT.Contracts.Crds;
using YamlDotNet.RepresentationModel;

namespace BiT.Contracts.Tests.Crds;

public sealed class CrdSchemaTests
{
    private static YamlMappingNode Load(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = node is YamlSequenceNode seq ? seq.Children[int.Parse(key, System.Globalization.CultureInfo.InvariantCulture)] : ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }

        return node;
    }

    private static string Text(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value!;

    private static YamlMappingNode Schema(CrdDocument crd) =>
        (YamlMappingNode)At(Load(crd.Yaml), "spec", "versions", "0", "schema", "openAPIV3Schema");

    [Theory]
    [InlineData(typeof(BiTFineTuneJob), "bitfinetunejobs.bit.training", "BiTFineTuneJob", "bitft")]
    [InlineData(typeof(BiTPretrainJob), "bitpretrainjobs.bit.training", "BiTPretrainJob", "bitpt")]
    public void Names_columns_and_status_subresource(Type type, string name, string kind, string shortName)
    {
        var crd = CrdGenerator.Generate(type);
        var root = Load(crd.Yaml);
        Assert.Equal(name, crd.Name);
        Assert.Equal("apiextensions.k8s.io/v1", Text(root, "apiVersion"));
        Assert.Equal(name, Text(root, "metadata", "name"));
        Assert.Equal("bit.training", Text(root, "spec", "group"));
        Assert.Equal("Namespaced", Text(root, "spec", "scope"));
        Assert.Equal(kind, Text(root, "spec", "names", "kind"));
        Assert.Equal(shortName, Text(root, "spec", "names", "shortNames", "0"));
        Assert.Equal("bit", Text(root, "spec", "names", "categories", "0"));
        Assert.Equal("v1alpha1", Text(root, "spec", "versions", "0", "name"));
        Assert.IsType<YamlMappingNode>(At(root, "spec", "versions", "0", "subresources", "status"));
        var columns = ((YamlSequenceNode)At(root, "spec", "versions", "0", "additionalPrinterColumns")).Children
            .Select(c => (Text(c, "name"), Text(c, "type"), Text(c, "jsonPath"))).ToList();
        Assert.Equal(
            [("Phase", "string", ".status.phase"), ("Progress", "string", ".status.progress.display"), ("Top1", "number", ".status.result.top1"),
             ("Restarts", "integer", ".status.restarts"), ("ETA", "string", ".status.progress.eta"),
             ("Images/s", "number", ".status.progress.imagesPerSecond"), ("Pod", "string", ".status.podName"),
             ("Workers", "string", ".status.workers.display"), ("World", "integer", ".status.worldSize"), ("Age", "date", ".metadata.creationTimestamp")],
            columns);
        // ETA, Images/s, Pod, Workers and World only with kubectl get -o wide.
        var wide = ((YamlSequenceNode)At(root, "spec", "versions", "0", "additionalPrinterColumns")).Children
            .Where(c => ((YamlMappingNode)c).Children.ContainsKey("priority")).Select(c => Text(c, "name")).ToList();
        Assert.Equal(["ETA", "Images/s", "Pod", "Workers", "World"], wide);
    }

    [Fact]
    public void Schema_carries_required_enums_ranges_patterns_and_descriptions()
    {
        var schema = Schema(CrdGenerator.Generate(typeof(BiTFineTuneJob)));
        var spec = At(schema, "properties", "spec");
        Assert.Equal(["model", "dataset"], ((YamlSequenceNode)At(spec, "required")).Children.Select(c => ((YamlScalarNode)c).Value));
        var dataset = At(spec, "properties", "dataset");
        Assert.Equal(["ImageFolder", "Idx", "CifarBinary"], ((YamlSequenceNode)At(dataset, "properties", "format", "enum")).Children.Select(c => ((YamlScalarNode)c).Value));
        Assert.Equal("2", Text(dataset, "properties", "numClasses", "minimum"));
        Assert.Equal("integer", Text(dataset, "properties", "numClasses", "type"));
        Assert.Equal(ApiPatterns.Sha256, Text(spec, "properties", "model", "properties", "weights", "properties", "sha256", "pattern"));
        Assert.Equal(ApiPatterns.Duration, Text(spec, "properties", "runPolicy", "properties", "stallTimeout", "pattern"));
        Assert.Equal("true", Text(spec, "properties", "resources", "properties", "cpu", "x-kubernetes-int-or-string"));
        Assert.Equal("true", Text(spec, "properties", "hyperparameters", "properties", "baseLearningRate", "exclusiveMinimum"));
        Assert.False(string.IsNullOrWhiteSpace(Text(dataset, "properties", "numClasses", "description")));
        Assert.Equal("date-time", Text(schema, "properties", "status", "properties", "startTime", "format"));
    }

    [Fact]
    public void Immutability_and_one_weight_source_are_cel_rules()
    {
        var yaml = CrdGenerator.Generate(typeof(BiTFineTuneJob)).Yaml;
        Assert.Contains("self.model == oldSelf.model", yaml, StringComparison.Ordinal);
        Assert.Contains("self.dataset == oldSelf.dataset", yaml, StringComparison.Ordinal);
        Assert.Contains("(has(self.url) ? 1 : 0) + (has(self.path) ? 1 : 0) + (has(self.fromPretrainJob) ? 1 : 0) == 1", yaml, StringComparison.Ordinal);
        Assert.Contains("are for BiTPretrainJob only", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("are for BiTFineTuneJob only", yaml, StringComparison.Ordinal);
        Assert.Contains("are for BiTFineTuneJob only", CrdGenerator.Generate(typeof(BiTPretrainJob)).Yaml, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(typeof(BiTFineTuneJob))]
    [InlineData(typeof(BiTPretrainJob))]
    public void Schema_is_structural(Type type)
    {
        var problems = new List<string>();
        CheckStructural(Schema(CrdGenerator.Generate(type)), "openAPIV3Schema", problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static void CheckStructural(YamlMappingNode node, string path, List<string> problems)
    {
        var keys = node.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet(StringComparer.Ordinal);
        if (!keys.Contains("type") && !keys.Contains("x-kubernetes-int-or-string"))
        {
            problems.Add($"{path}: no type");
        }

        if (keys.Contains("properties") && keys.Contains("additionalProperties"))
        {
            problems.Add($"{path}: properties and additionalProperties together");
        }

        if (keys.Contains("pattern"))
        {
            try
            {
                _ = new Regex(Text(node, "pattern"), RegexOptions.ECMAScript);
            }
            catch (ArgumentException e)
            {
                problems.Add($"{path}: pattern does not compile as ECMAScript: {e.Message}");
            }
        }

        if (keys.Contains("required"))
        {
            var props = keys.Contains("properties") ? ((YamlMappingNode)At(node, "properties")).Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToHashSet() : [];
            foreach (var r in ((YamlSequenceNode)At(node, "required")).Children.Select(c => ((YamlScalarNode)c).Value))
            {
                if (!props.Contains(r))
                {
                    problems.Add($"{path}: required {r} is not a property");
                }
            }
        }

        if (keys.Contains("type") && Text(node, "type") == "object" && !keys.Contains("properties") && !keys.Contains("additionalProperties") && !keys.Contains("x-kubernetes-preserve-unknown-fields") && path != "openAPIV3Schema.properties.metadata")
        {
            problems.Add($"{path}: object without properties");
        }

        if (keys.Contains("type") && Text(node, "type") == "array" && !keys.Contains("items"))
        {
            problems.Add($"{path}: array without items");
        }

        if (keys.Contains("properties"))
        {
            foreach (var (k, v) in ((YamlMappingNode)At(node, "properties")).Children)
            {
                CheckStructural((YamlMappingNode)v, $"{path}.properties.{((YamlScalarNode)k).Value}", problems);
            }
        }

        if (keys.Contains("items"))
        {
            CheckStructural((YamlMappingNode)At(node, "items"), $"{path}.items", problems);
        }
    }

    /// <summary>
    /// Every CEL rule in the CRDs has a twin in <see cref="SpecValidator"/>: for each rule a spec that breaks it is
    /// rejected by the validator too, so a cluster and a laptop refuse the same manifests.
    /// </summary>
    [Fact]
    public void Every_cel_rule_is_also_enforced_by_the_validator()
    {
        var cases = new Dictionary<string, (string Kind, Func<BiTJobSpec, BiTJobSpec> Break)>(StringComparer.Ordinal)
        {
            ["blocks and widthFactor are required with architecture Custom and not allowed otherwise"] =
                (ApiInfo.FineTuneKind, s => s with { Model = s.Model! with { WidthFactor = null } }),
            ["exactly one of url, path, fromPretrainJob must be set"] =
                (ApiInfo.FineTuneKind, s => s with { Model = s.Model! with { Weights = new WeightsSpec { Path = "a", FromPretrainJob = new PretrainJobReference { Name = "b" } } } }),
            ["sha256 is required with url"] =
                (ApiInfo.FineTuneKind, s => s with { Model = s.Model! with { Weights = new WeightsSpec { Url = "https://x/a.npz" } } }),
            ["sha256 is not allowed with fromPretrainJob"] =
                (ApiInfo.FineTuneKind, s => s with { Model = s.Model! with { Weights = new WeightsSpec { Sha256 = new string('0', 64), FromPretrainJob = new PretrainJobReference { Name = "b" } } } }),
            ["numClasses must equal the number of labels in classes"] =
                (ApiInfo.FineTuneKind, s => s with { Dataset = s.Dataset! with { Classes = [1, 2, 3] } }),
            ["batchSize must be a multiple of batchSplit"] =
                (ApiInfo.FineTuneKind, s => s with { Hyperparameters = new HyperparametersSpec { BatchSize = 10, BatchSplit = 3 } }),
            ["warmupSteps must be <= totalSteps"] =
                (ApiInfo.FineTuneKind, s => s with { Hyperparameters = new HyperparametersSpec { WarmupSteps = 10, TotalSteps = 5 } }),
            ["cropSize must be <= precropSize"] =
                (ApiInfo.FineTuneKind, s => s with { Hyperparameters = new HyperparametersSpec { PrecropSize = 10, CropSize = 20 } }),
            ["give warmupSteps or warmupEpochs, not both"] =
                (ApiInfo.PretrainKind, s => s with { Hyperparameters = new HyperparametersSpec { WarmupSteps = 10, WarmupEpochs = 1 } }),
            ["give decaySteps or decayEpochs, not both"] =
                (ApiInfo.PretrainKind, s => s with { Hyperparameters = new HyperparametersSpec { DecaySteps = [10], DecayEpochs = [1] } }),
            ["give claimName (an existing claim) or size (a new claim), not both"] =
                (ApiInfo.FineTuneKind, s => s with { Checkpoint = new CheckpointSpec { Volume = new CheckpointVolumeSpec { ClaimName = "a", Size = "1Gi" } } }),
            ["storageClassName needs size (it describes a new claim)"] =
                (ApiInfo.FineTuneKind, s => s with { Checkpoint = new CheckpointSpec { Volume = new CheckpointVolumeSpec { ClaimName = "a", StorageClassName = "fast" } } }),
            ["epochs, decayEpochs, warmupEpochs, weightDecay and loss are for BiTPretrainJob only"] =
                (ApiInfo.FineTuneKind, s => s with { Hyperparameters = new HyperparametersSpec { WeightDecay = 0.1 } }),
            ["precropSize, mixupAlpha, resolution and scaleLearningRateWithBatch are for BiTFineTuneJob only (upstream uses an inception crop and no MixUp)"] =
                (ApiInfo.PretrainKind, s => s with { Hyperparameters = new HyperparametersSpec { MixupAlpha = 0.1 } }),
        };

        var rules = typeof(BiTJob).Assembly.GetTypes()
            .SelectMany(t => t.GetCustomAttributes<CelRuleAttribute>().Select(a => (a.Rule, a.Message))
                .Concat(t.GetCustomAttributes<SpecCelRuleAttribute>().Select(a => (a.Rule, a.Message))))
            .Where(r => !r.Rule.Contains("oldSelf", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(rules.Select(r => r.Message).Order(StringComparer.Ordinal), cases.Keys.Order(StringComparer.Ordinal));

        var valid = ManifestParser.Parse("""
            apiVersion: bit.training/v1alpha1
            kind: BiTFineTuneJob
            metadata: {name: a}
            spec:
              model: {architecture: Custom, blocks: [1, 1, 1, 1], widthFactor: 1}
              dataset: {format: Idx, path: d, numClasses: 2}
            """).Spec;
        Assert.Empty(SpecValidator.ValidateSpec(ApiInfo.FineTuneKind, valid));
        Assert.Empty(SpecValidator.ValidateSpec(ApiInfo.PretrainKind, valid));
        foreach (var (message, (kind, breakIt)) in cases)
        {
            Assert.True(SpecValidator.ValidateSpec(kind, breakIt(valid)).Count > 0, $"the validator accepts a spec that breaks: {message}");
        }
    }
}
