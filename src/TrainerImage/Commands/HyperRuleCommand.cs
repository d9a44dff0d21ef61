using System.CommandLine;
using System.Text;
using System.Text.Json;
using BiT.Contracts.Plans;
using BiT.Contracts.Rules;

namespace BiT.Trainer.Commands;

/// <summary><c>bit-trainer hyperrule</c>: prints the BiT-HyperRule's choices for a task as one JSON object.</summary>
public sealed class HyperRuleCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "hyperrule";

    /// <inheritdoc/>
    public string Summary => "print the BiT-HyperRule (resolution, schedule, MixUp, learning rate) for a task as JSON";

    /// <inheritdoc/>
    public string Help => """
        usage: bit-trainer hyperrule --train-examples N --image-size HxW [--batch-size B] [--resolution reference|paper]

        Prints one JSON object: precropSize, cropSize, warmupSteps, decaySteps (the three decay boundaries),
        totalSteps, mixupAlpha, baseLearningRate.

          --train-examples N   training examples of the task (after few-shot subsetting)
          --image-size HxW     size of the original images, for example 32x32
          --batch-size B       global batch size (default 512; the reference keeps the rate at 0.003 for any B)
          --resolution R       'reference' (512/480 for images of at least 96x96; default) or 'paper' (448/384)

        example: bit-trainer hyperrule --train-examples 50000 --image-size 32x32
        """;

    private readonly Option<long?> _trainExamples = CommandOptions.Integer("--train-examples", min: 1);
    private readonly Option<(int Height, int Width)> _imageSize = ImageSizeOption.Create("--image-size");
    private readonly Option<long?> _batchSize = CommandOptions.Integer("--batch-size", min: 1, max: int.MaxValue);
    private readonly Option<ResolutionRule> _resolution = ResolutionOption.Create();

    /// <inheritdoc/>
    public Command Define()
    {
        var command = new Command(Name, Summary) { _trainExamples, _imageSize, _batchSize, _resolution };
        CommandOptions.Require(command, _trainExamples, _imageSize);
        return command;
    }

    /// <inheritdoc/>
    public async Task<int> RunAsync(ParseResult parsed, CommandConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        ArgumentNullException.ThrowIfNull(console);
        long examples = parsed.GetValue(_trainExamples)!.Value;
        var (height, width) = parsed.GetValue(_imageSize);
        int batch = (int)(parsed.GetValue(_batchSize) ?? HyperRule.ReferenceBatchSize);
        var resolution = parsed.GetValue(_resolution);

        var settings = HyperRule.Resolve(examples, height, width, batch, resolution);
        await console.Out.WriteLineAsync(ToJson(settings)).ConfigureAwait(false);
        return TrainerExitCodes.Success;
    }

    /// <summary>The JSON object this command prints: exactly the seven keys, in a fixed order.</summary>
    public static string ToJson(HyperRuleSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("precropSize", settings.PrecropSize);
            json.WriteNumber("cropSize", settings.CropSize);
            json.WriteNumber("warmupSteps", settings.WarmupSteps);
            json.WriteStartArray("decaySteps");
            foreach (int step in settings.DecaySteps)
            {
                json.WriteNumberValue(step);
            }

            json.WriteEndArray();
            json.WriteNumber("totalSteps", settings.TotalSteps);
            json.WriteNumber("mixupAlpha", settings.MixupAlpha);
            json.WriteNumber("baseLearningRate", settings.BaseLearningRate);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
