using System.Security.Cryptography;
using BiT.Model;
using BiT.Model.Imaging;
using BiT.Model.Tests.TestSupport;
using SkiaSharp;
using static TorchSharp.torch;

namespace BiT.Model.Tests.Cli;

public sealed class PredictCommandTests : IDisposable
{
    private const string ModelName = "R1-1-1-1x0.5";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    // A small model with random weights everywhere, head included, saved in the published layout.
    private (BitResNet Model, string Weights) SavedModel(int headSize = 6)
    {
        var model = BitResNet.Create(BitArchitecture.Parse(ModelName), headSize, seed: 21);
        random.manual_seed(22);
        using (no_grad())
        {
            foreach (var p in model.Head.parameters())
            {
                p.copy_(randn_like(p));
            }
        }

        model.eval();
        string weights = _dir.File("weights.npz");
        NpzWeights.Save(model, weights);
        return (model, weights);
    }

    [Fact]
    public async Task Npy_input_gives_npy_logits_equal_to_the_model_across_batches()
    {
        var (model, weights) = SavedModel();
        using var _ = model;
        using var x = rand(5, 3, 32, 32) * 2 - 1;
        string input = _dir.File("x.npy");
        string output = _dir.File("out/y.npy");
        Npy.Write(input, x);

        var result = await TestSupport.Cli.RunAsync("predict", "--model", ModelName, "--weights", weights, "--input", input, "--output", output, "--batch-size", "2");
        Assert.True(result.ExitCode == 0, result.Error);

        using var logits = Npy.Read(output);
        using var noGrad = no_grad();
        using var expected = model.forward(x);
        Assert.Equal(new long[] { 5, 6 }, logits.shape);
        Assert.True(logits.allclose(expected, rtol: 1e-4, atol: 1e-5));
        Assert.True(expected.abs().max().item<float>() > 0);
    }

    [Fact]
    public async Task Image_directory_gives_top5_csv_at_the_hyperrule_resolution()
    {
        var (model, weights) = SavedModel();
        using var _ = model;
        string images = Directory.CreateDirectory(_dir.File("images")).FullName;
        var colours = new[] { new SKColor(250, 10, 10), new SKColor(10, 250, 10), new SKColor(10, 10, 250) };
        for (int i = 0; i < colours.Length; i++)
        {
            using var bitmap = new SKBitmap(20, 20);
            bitmap.Erase(colours[i]);
            bitmap.SetPixel(3, 4, SKColors.White);
            using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(Path.Combine(images, $"img{i}.png"), data.ToArray());
        }

        File.WriteAllText(Path.Combine(images, "README.txt"), "not an image, ignored");
        string labels = _dir.File("labels.txt");
        File.WriteAllLines(labels, ["zero", "one", "two", "three", "four", "five"]);
        string output = _dir.File("top5.csv");

        var result = await TestSupport.Cli.RunAsync("predict", "--model", ModelName, "--weights", weights, "--input", images, "--output", output, "--labels", labels);
        Assert.True(result.ExitCode == 0, result.Error);

        string[] rows = File.ReadAllLines(output);
        Assert.Equal("file,class1,probability1,class2,probability2,class3,probability3,class4,probability4,class5,probability5", rows[0]);
        Assert.Equal(4, rows.Length);
        string[] names = ["zero", "one", "two", "three", "four", "five"];
        for (int i = 0; i < colours.Length; i++)
        {
            string[] cells = rows[i + 1].Split(',');
            Assert.Equal($"img{i}.png", cells[0]);

            // 20x20 is below 96x96, so the HyperRule resolution is 128.
            float[] pixels = ImageDecoder.LoadForModel(Path.Combine(images, $"img{i}.png"), 128);
            using var noGrad = no_grad();
            using var x = tensor(pixels).reshape(1, 3, 128, 128);
            using var probabilities = nn.functional.softmax(model.forward(x), 1);
            int best = (int)probabilities.argmax(1).item<long>();
            Assert.Equal(names[best], cells[1]);
            // Within 1e-4, not "equal to 4 places": the command runs the three images as one batch, and on the CPU the
            // 1x1 convolutions' matrix products sum in a batch-dependent order (differences of a few 1e-6).
            Assert.Equal(probabilities[0, best].item<float>(), float.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture), 1e-4f);
            var probs = Enumerable.Range(0, 5).Select(k => double.Parse(cells[2 + (2 * k)], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(probs.OrderDescending(), probs);
        }
    }

    [Fact]
    public async Task Weights_by_url_are_downloaded_verified_and_used()
    {
        var (model, weights) = SavedModel();
        using var _ = model;
        byte[] content = File.ReadAllBytes(weights);
        using var server = new LocalHttpServer(content, "/BiT-test.npz");
        using var x = zeros(1, 3, 32, 32);
        string input = _dir.File("x.npy");
        Npy.Write(input, x);
        string sha = Convert.ToHexStringLower(SHA256.HashData(content));

        // The test server is plain http on 127.0.0.1: allowed as an operator would opt in (docs/reliability.md).
        Environment.SetEnvironmentVariable(WeightsDownloadPolicy.AllowHttpVariable, "true");
        Environment.SetEnvironmentVariable(WeightsDownloadPolicy.PrivateHostsVariable, "127.0.0.1");
        BiT.Model.Tests.TestSupport.Cli.Result result;
        try
        {
            result = await TestSupport.Cli.RunAsync("predict", "--model", ModelName, "--weights", server.Url.ToString(),
                "--weights-sha256", sha, "--cache-dir", _dir.File("cache"), "--input", input, "--output", _dir.File("y.npy"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(WeightsDownloadPolicy.AllowHttpVariable, null);
            Environment.SetEnvironmentVariable(WeightsDownloadPolicy.PrivateHostsVariable, null);
        }
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Single(Directory.GetFiles(_dir.File("cache")));
    }

    [Theory]
    [InlineData("missing-model", "missing required option '--model'")]
    [InlineData("bad-model", "unknown model 'R7x7'")]
    [InlineData("no-weights", "no such file")]
    [InlineData("no-input", "is neither a .npy file nor a directory")]
    [InlineData("url-without-sha", "--weights-sha256 is required")]
    [InlineData("bad-batch", "'--batch-size' must be between 1 and 4096")]
    public async Task Usage_errors_exit_2_with_the_reason(string scenario, string message)
    {
        var (model, weights) = SavedModel();
        using var _ = model;
        string input = _dir.File("x.npy");
        Npy.Write(input, zeros(1, 3, 32, 32));
        var args = new Dictionary<string, string>
        {
            ["--model"] = ModelName,
            ["--weights"] = weights,
            ["--input"] = input,
            ["--output"] = _dir.File("y.npy"),
        };
        switch (scenario)
        {
            case "missing-model": args.Remove("--model"); break;
            case "bad-model": args["--model"] = "R7x7"; break;
            case "no-weights": args["--weights"] = _dir.File("absent.npz"); break;
            case "no-input": args["--input"] = _dir.File("absent.npy"); break;
            case "url-without-sha": args["--weights"] = "http://127.0.0.1:9/w.npz"; break;
            case "bad-batch": args["--batch-size"] = "0"; break;
            default: throw new ArgumentOutOfRangeException(nameof(scenario));
        }

        var result = await TestSupport.Cli.RunAsync(["predict", .. args.SelectMany(a => new[] { a.Key, a.Value })]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_files_are_a_permanent_failure_with_the_reason()
    {
        var (model, weights) = SavedModel();
        using var _ = model;
        string input = _dir.File("x.npy");
        Npy.Write(input, zeros(2, 32, 32));
        var wrongShape = await TestSupport.Cli.RunAsync("predict", "--model", ModelName, "--weights", weights, "--input", input, "--output", _dir.File("y.npy"));
        Assert.Equal(4, wrongShape.ExitCode);
        Assert.Contains("expected float32 images [N, 3, H, W]", wrongShape.Error, StringComparison.Ordinal);

        Npy.Write(input, zeros(1, 3, 32, 32));
        var wrongHead = await TestSupport.Cli.RunAsync("predict", "--model", ModelName, "--weights", weights, "--head-size", "9", "--input", input, "--output", _dir.File("y.npy"));
        Assert.Equal(4, wrongHead.ExitCode);
        Assert.Contains("'resnet/head/conv2d/kernel' has shape (1, 1, 1024, 6), expected (1, 1, 1024, 9)", wrongHead.Error, StringComparison.Ordinal);

        var wrongModel = await TestSupport.Cli.RunAsync("predict", "--model", "R1-1-1-1x1", "--weights", weights, "--input", input, "--output", _dir.File("y.npy"));
        Assert.Equal(4, wrongModel.ExitCode);
        Assert.Contains("expected (7, 7, 3, 64)", wrongModel.Error, StringComparison.Ordinal);

        string notZip = _dir.File("not.npz");
        File.WriteAllText(notZip, "hello");
        var broken = await TestSupport.Cli.RunAsync("predict", "--model", ModelName, "--weights", notZip, "--input", input, "--output", _dir.File("y.npy"));
        Assert.Equal(4, broken.ExitCode);
        Assert.Contains("not a zip", broken.Error, StringComparison.Ordinal);
    }
}
