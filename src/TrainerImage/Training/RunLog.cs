using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;

namespace BiT.Trainer.Training;

/// <summary>
/// The run's record in the work directory: <c>metrics.jsonl</c> (one object per optimizer step, plus evaluation
/// records), TensorBoard event files under <c>tensorboard/</c>, and the history the curves are drawn from.
/// On resume the lines after the checkpoint's step (work that was lost) are dropped, so the file reads as one run.
/// </summary>
public sealed class RunLog : IDisposable
{
    private readonly StreamWriter writer;
    private readonly TorchSharp.Modules.SummaryWriter? tensorBoard;

    public RunLog(string workDirectory, int resumedStep, bool tensorBoard = true)
    {
        MetricsPath = Path.Combine(workDirectory, "metrics.jsonl");
        Directory.CreateDirectory(workDirectory);
        var kept = new List<string>();
        if (File.Exists(MetricsPath))
        {
            foreach (var line in File.ReadLines(MetricsPath))
            {
                if (TryParse(line) is { } node && node["step"]?.GetValue<int>() is { } step && step <= resumedStep)
                {
                    kept.Add(line);
                    Remember(node);
                }
            }
        }
        File.WriteAllLines(MetricsPath, kept);
        writer = new StreamWriter(MetricsPath, append: true) { AutoFlush = true };
        if (tensorBoard)
        {
            this.tensorBoard = torch.utils.tensorboard.SummaryWriter(Path.Combine(workDirectory, "tensorboard"));
        }
    }

    public string MetricsPath { get; }

    public List<(int Step, double Loss)> LossHistory { get; } = [];

    public List<(int Step, double Top1)> Top1History { get; } = [];

    /// <summary>
    /// One optimizer step: <paramref name="imagesPerSecond"/> is the moving figure; <paramref name="stepSeconds"/> is
    /// this step alone (data, forward, backward, update; not evaluation or checkpoints), of which
    /// <paramref name="dataWaitSeconds"/> went to waiting for the input pipeline and
    /// <paramref name="communicationSeconds"/> to collectives with the other ranks (rank 0's view; 0 for one process).
    /// </summary>
    public void Step(int step, double loss, double learningRate, double imagesPerSecond, double epoch, DateTimeOffset time, double stepSeconds = 0, double dataWaitSeconds = 0, double communicationSeconds = 0)
    {
        var record = new JsonObject
        {
            ["type"] = "train",
            ["step"] = step,
            ["loss"] = loss,
            ["learningRate"] = learningRate,
            ["imagesPerSecond"] = Math.Round(imagesPerSecond, 2),
            ["stepSeconds"] = Math.Round(stepSeconds, 4),
            ["dataWaitSeconds"] = Math.Round(dataWaitSeconds, 4),
            ["communicationSeconds"] = Math.Round(communicationSeconds, 4),
            ["epoch"] = Math.Round(epoch, 4),
            ["time"] = time.ToString("O", CultureInfo.InvariantCulture),
        };
        writer.WriteLine(record.ToJsonString());
        LossHistory.Add((step, loss));
        tensorBoard?.add_scalar("train/loss", (float)loss, step);
        tensorBoard?.add_scalar("train/learning_rate", (float)learningRate, step);
        tensorBoard?.add_scalar("train/images_per_second", (float)imagesPerSecond, step);
    }

    /// <summary>
    /// What the process spent before its first step (<paramref name="startupSeconds"/>: start, libraries, data
    /// opened, model built, checkpoint read; of it <paramref name="kernelSeconds"/> choosing the CPU kernels), kept
    /// out of every step's figures. <paramref name="step"/> is the step training starts from, so a resume keeps it.
    /// </summary>
    public void Startup(int step, double startupSeconds, double kernelSeconds, string kernels, string precision, DateTimeOffset time)
    {
        var record = new JsonObject
        {
            ["type"] = "startup",
            ["step"] = step,
            ["startupSeconds"] = Math.Round(startupSeconds, 3),
            ["kernelSeconds"] = Math.Round(kernelSeconds, 3),
            ["kernels"] = kernels,
            ["precision"] = precision,
            ["time"] = time.ToString("O", CultureInfo.InvariantCulture),
        };
        writer.WriteLine(record.ToJsonString());
    }

    public void Eval(int step, EvalResult result, DateTimeOffset time)
    {
        var record = new JsonObject
        {
            ["type"] = "eval",
            ["step"] = step,
            ["top1"] = result.Top1,
            ["top5"] = result.Top5,
            ["examples"] = result.Examples,
            ["time"] = time.ToString("O", CultureInfo.InvariantCulture),
        };
        writer.WriteLine(record.ToJsonString());
        Top1History.Add((step, result.Top1));
        tensorBoard?.add_scalar("eval/top1", (float)result.Top1, step);
        tensorBoard?.add_scalar("eval/top5", (float)result.Top5, step);
    }

    public void Dispose()
    {
        writer.Dispose();
    }

    private void Remember(JsonNode node)
    {
        var step = node["step"]!.GetValue<int>();
        if (node["type"]?.GetValue<string>() == "eval" && node["top1"] is { } top1)
        {
            Top1History.Add((step, top1.GetValue<double>()));
        }
        else if (node["loss"] is { } loss)
        {
            LossHistory.Add((step, loss.GetValue<double>()));
        }
    }

    private static JsonNode? TryParse(string line)
    {
        try
        {
            return JsonNode.Parse(line);
        }
        catch (JsonException)
        {
            // A line torn by a kill mid-write: drop it.
            return null;
        }
    }
}
