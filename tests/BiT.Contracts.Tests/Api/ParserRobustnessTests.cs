using BiT.Contracts.Api;

namespace BiT.Contracts.Tests.Api;

/// <summary>Whatever the input, the parser answers with a job or a <see cref="ManifestException"/>; never anything else.</summary>
public sealed class ParserRobustnessTests
{
    private const string Noise = ":-[]{}\"' \n\t#&*!|>%@`,0a1.~?";

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_mutations_of_a_manifest_give_a_job_or_a_manifest_exception(int seed)
    {
        var random = new Random(seed);
        var source = seed == 3 ? Manifests.Pretrain : Manifests.FullFineTune;
        var outcomes = new int[2];
        for (var i = 0; i < 400; i++)
        {
            var text = Mutate(source, random, 1 + random.Next(4));
            try
            {
                _ = ManifestParser.Parse(text);
                outcomes[0]++;
            }
            catch (ManifestException e)
            {
                Assert.NotEmpty(e.Errors);
                Assert.All(e.Errors, err => Assert.False(string.IsNullOrWhiteSpace(err.Message)));
                outcomes[1]++;
            }
        }

        // Both outcomes happen, or the mutations would not be exercising anything.
        Assert.True(outcomes[0] > 0 && outcomes[1] > 0, $"parsed {outcomes[0]}, refused {outcomes[1]}");
    }

    [Theory]
    [InlineData(100)]
    [InlineData(200_000)]
    public void Deep_nesting_is_refused_without_overflowing_the_stack(int depth)
    {
        var yaml = "apiVersion: bit.training/v1alpha1\nkind: BiTFineTuneJob\nmetadata: {name: a}\nspec: " + new string('[', depth) + new string(']', depth) + "\n";
        var ex = Assert.Throws<ManifestException>(() => ManifestParser.Parse(yaml));
        Assert.Contains("nested more than 64 levels", ex.Errors[0].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("spec: &s {model: *s, dataset: *s}")]
    [InlineData("spec: &s\n  model: {architecture: R50x1}\n  dataset: &d {format: Idx, path: p, numClasses: 2}\n  checkpoint: *d")]
    [InlineData("spec:\n  model: {architecture: R50x1}\n  dataset: {format: Idx, path: p, numClasses: 2}\n  resources:\n    tolerations: &t [{key: a}, *t]")]
    public void Aliases_and_self_references_end_in_an_answer(string spec)
    {
        var yaml = "apiVersion: bit.training/v1alpha1\nkind: BiTFineTuneJob\nmetadata: {name: a}\n" + spec + "\n";
        var ex = Assert.Throws<ManifestException>(() => ManifestParser.Parse(yaml));
        Assert.NotEmpty(ex.Errors);
    }

    [Fact]
    public void Validator_copes_with_empty_and_half_built_objects()
    {
        Assert.NotEmpty(SpecValidator.Validate(new BiTFineTuneJob()));
        Assert.NotEmpty(SpecValidator.Validate(new BiTPretrainJob { Spec = new BiTJobSpec { Model = new ModelSpec(), Dataset = new DatasetSpec() } }));
        var withNulls = new BiTFineTuneJob
        {
            Metadata = new ObjectMeta { Name = "a" },
            Spec = new BiTJobSpec
            {
                Model = new ModelSpec { Architecture = "R50x1", Weights = new WeightsSpec() },
                Dataset = new DatasetSpec { Format = (DatasetFormat)9, Path = "d", NumClasses = 2 },
                Resources = new ResourcesSpec { Tolerations = [null!] },
            },
        };
        var errors = SpecValidator.Validate(withNulls).Select(e => e.Path).ToList();
        Assert.Contains("spec.resources.tolerations[0]", errors);
        Assert.Contains("spec.dataset.format", errors);
        Assert.Contains("spec.model.weights", errors);
    }

    private static string Mutate(string text, Random random, int edits)
    {
        var chars = text.ToList();
        for (var e = 0; e < edits && chars.Count > 0; e++)
        {
            var at = random.Next(chars.Count);
            switch (random.Next(5))
            {
                case 0:
                    chars.RemoveAt(at);
                    break;
                case 1:
                    chars.Insert(at, Noise[random.Next(Noise.Length)]);
                    break;
                case 2:
                    chars[at] = Noise[random.Next(Noise.Length)];
                    break;
                case 3:
                    chars.RemoveRange(at, Math.Min(chars.Count - at, random.Next(1, 40)));
                    break;
                default:
                    var lines = new string([.. chars]).Split('\n').ToList();
                    var line = random.Next(lines.Count);
                    lines.Insert(random.Next(lines.Count), lines[line]);
                    chars = [.. string.Join('\n', lines)];
                    break;
            }
        }

        return new string([.. chars]);
    }
}
