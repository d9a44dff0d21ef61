using System.CommandLine;
using System.Globalization;
using BiT.Contracts.Plans;
using BiT.Contracts.Rules;
using BiT.Model;
using BiT.Model.Imaging;
using static TorchSharp.torch;

namespace BiT.Trainer.Commands;

/// <summary>
/// <c>bit-trainer predict</c>: runs a BiT model on a .npy batch (writing logits as .npy) or on a directory of images
/// (writing the top-5 classes per image as CSV).
/// </summary>
public sealed class PredictCommand : ICommand
{
    private const int TopK = 5;
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];

    /// <inheritdoc/>
    public string Name => "predict";

    /// <inheritdoc/>
    public string Summary => "run a model on a .npy batch (logits out) or a directory of images (top-5 CSV out)";

    /// <inheritdoc/>
    public string Help => """
        usage: bit-trainer predict --model NAME --weights W.npz [--head-size N] --input X.npy --output Y.npy
               bit-trainer predict --model NAME --weights W.npz [--head-size N] --input DIR --output TOP5.csv

          --model NAME           R50x1, R50x3, R101x1, R101x3, R152x2, R152x4 (or BiT-M-R50x1 ...), or a custom
                                 shape R<b1>-<b2>-<b3>-<b4>x<width> such as R1-1-1-1x1
          --weights W            a published-layout .npz, or an http(s) URL (then --weights-sha256 is required)
          --weights-sha256 HEX   SHA-256 of the weights at the URL; the download is verified and cached
          --cache-dir DIR        where downloaded weights are kept (default: $BIT_CACHE_DIR or ~/.cache/bit-trainer)
          --head-size N          classes of the head (default: read from the weights file)
          --input X.npy          float32 NCHW images already scaled to [-1, 1]; writes float32 logits [N, classes]
          --input DIR            JPEG/PNG images; each is resized to the HyperRule resolution (128 for images under
                                 96x96 pixels, else 480; 384 with --resolution paper), scaled to [-1, 1], and the
                                 top-5 classes with softmax probabilities are written as CSV
          --image-size S         resize images to SxS instead of the HyperRule resolution
          --resolution R         'reference' (default) or 'paper'
          --labels FILE          class names, one per line, used in the CSV instead of class indices
          --batch-size B         images per forward pass (default 16)
          --threads T            CPU threads for libtorch (default: libtorch's choice)
          --output PATH          the .npy or .csv to write

        examples:
          bit-trainer predict --model R50x1 --weights BiT-M-R50x1.npz --input x.npy --output logits.npy
          bit-trainer predict --model BiT-M-R50x1 --weights pets.npz --input photos/ --output top5.csv --labels pets.txt
        """;

    private readonly Option<BitArchitecture?> _model = CommandOptions.Parsed<BitArchitecture?>("--model", ParseModel);
    private readonly Option<string?> _weights = CommandOptions.Text("--weights");
    private readonly Option<string?> _weightsSha256 = CommandOptions.Text("--weights-sha256");
    private readonly Option<string?> _cacheDir = CommandOptions.Text("--cache-dir");
    private readonly Option<long?> _headSize = CommandOptions.Integer("--head-size", min: 1, max: int.MaxValue);
    private readonly Option<string?> _input = CommandOptions.Text("--input").Check(input =>
        input.Length > 0 && !Directory.Exists(input) && !File.Exists(input) ? $"--input '{input}' is neither a .npy file nor a directory of images" : null);
    private readonly Option<string?> _output = CommandOptions.Text("--output");
    private readonly Option<long?> _imageSize = CommandOptions.Integer("--image-size", min: 32, max: 4096);
    private readonly Option<ResolutionRule> _resolution = ResolutionOption.Create();
    private readonly Option<string?> _labels = CommandOptions.Text("--labels").Check(labels => File.Exists(labels) ? null : $"--labels '{labels}': no such file");
    private readonly Option<long?> _batchSize = CommandOptions.Integer("--batch-size", min: 1, max: 4096);
    private readonly Option<long?> _threads = CommandOptions.Integer("--threads", min: 1, max: 1024);

    /// <inheritdoc/>
    public Command Define()
    {
        var command = new Command(Name, Summary)
        {
            _model, _weights, _weightsSha256, _cacheDir, _headSize, _input, _output, _imageSize, _resolution, _labels, _batchSize, _threads,
        };
        CommandOptions.Require(command, _model, _weights, _input, _output);
        command.Validators.Add(r =>
        {
            if (r.GetValue(_weights) is { Length: > 0 } weights)
            {
                if (IsUrl(weights))
                {
                    if (r.GetValue(_weightsSha256) is null)
                    {
                        r.AddError("--weights is a URL, so --weights-sha256 is required to verify the download");
                    }
                }
                else if (!File.Exists(weights))
                {
                    r.AddError($"--weights '{weights}': no such file");
                }
            }
        });
        return command;
    }

    /// <inheritdoc/>
    public async Task<int> RunAsync(ParseResult parsed, CommandConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        ArgumentNullException.ThrowIfNull(console);
        var arch = parsed.GetValue(_model)!;
        string weights = parsed.GetValue(_weights)!;
        string input = parsed.GetValue(_input)!;
        string output = parsed.GetValue(_output)!;
        int? headSize = (int?)parsed.GetValue(_headSize);
        int batchSize = (int)(parsed.GetValue(_batchSize) ?? 16);
        int? imageSize = (int?)parsed.GetValue(_imageSize);
        var resolution = parsed.GetValue(_resolution);
        string? labels = parsed.GetValue(_labels);
        if (parsed.GetValue(_threads) is long threads)
        {
            set_num_threads((int)threads);
        }

        bool imageMode = Directory.Exists(input);
        string weightsPath;
        try
        {
            weightsPath = await ResolveWeightsAsync(weights, parsed.GetValue(_weightsSha256), parsed.GetValue(_cacheDir), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or UriFormatException)
        {
            return await CommandRegistry.UsageErrorAsync(console, Name, $"--weights: {e.Message}").ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or HttpRequestException or UnauthorizedAccessException)
        {
            await console.Error.WriteLineAsync($"bit-trainer predict: error: {e.Message}").ConfigureAwait(false);
            return TrainerExitCodes.PermanentFailure;
        }

        try
        {
            int classes = headSize ?? NpzWeights.ReadHeadSize(weightsPath);
            // Prediction runs no backward pass, where oneDNN's fault lies, so it needs no probe.
            BiT.Model.Native.CpuKernels.Configure(probe: null);
            using var model = BitResNet.Create(arch, classes);
            NpzWeights.Load(model, weightsPath, replaceHead: false);
            model.eval();
            CreateParent(output);
            if (imageMode)
            {
                string[]? names = labels is null ? null : await File.ReadAllLinesAsync(labels, cancellationToken).ConfigureAwait(false);
                int count = await PredictImagesAsync(model, input, output, imageSize, resolution, names, batchSize, cancellationToken).ConfigureAwait(false);
                await console.Error.WriteLineAsync($"predicted {count} image(s) -> {output}").ConfigureAwait(false);
            }
            else
            {
                long count = PredictArray(model, input, output, batchSize, cancellationToken);
                await console.Error.WriteLineAsync($"predicted {count} input(s) -> {output}").ConfigureAwait(false);
            }

            return TrainerExitCodes.Success;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or HttpRequestException or UnauthorizedAccessException)
        {
            await console.Error.WriteLineAsync($"bit-trainer predict: error: {e.Message}").ConfigureAwait(false);
            return TrainerExitCodes.PermanentFailure;
        }
    }

    private static BitArchitecture ParseModel(string name)
    {
        try
        {
            return BitArchitecture.Parse(name);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"--model: {e.Message}", e);
        }
    }

    private static bool IsUrl(string weights) =>
        weights.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || weights.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>A local file as it is; a URL downloaded (verified against its SHA-256) into the cache.</summary>
    private static async Task<string> ResolveWeightsAsync(string weights, string? sha256, string? cacheDir, CancellationToken cancellationToken)
    {
        if (!IsUrl(weights))
        {
            return weights;
        }

        string cache = cacheDir
            ?? Environment.GetEnvironmentVariable("BIT_CACHE_DIR")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "bit-trainer");
        return await WeightsCache.FetchAsync(new Uri(weights), sha256!, cache, cancellationToken).ConfigureAwait(false);
    }

    private static void CreateParent(string output)
    {
        string? parent = Path.GetDirectoryName(Path.GetFullPath(output));
        if (parent is not null)
        {
            Directory.CreateDirectory(parent);
        }
    }

    private static long PredictArray(BitResNet model, string input, string output, int batchSize, CancellationToken cancellationToken)
    {
        using var images = Npy.Read(input);
        if (images.dtype != ScalarType.Float32 || images.dim() != 4 || images.shape[1] != 3 || images.shape[0] < 1)
        {
            throw new InvalidDataException(
                $"{input}: expected float32 images [N, 3, H, W] scaled to [-1, 1]; got {images.dtype} {Npy.FormatShape(images.shape)}");
        }

        using var noGrad = no_grad();
        var batches = new List<Tensor>();
        try
        {
            for (long start = 0; start < images.shape[0]; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var batch = images.narrow(0, start, Math.Min(batchSize, images.shape[0] - start));
                batches.Add(model.forward(batch));
            }

            using var logits = cat(batches, 0);
            Npy.Write(output, logits);
            return images.shape[0];
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    private static async Task<int> PredictImagesAsync(
        BitResNet model, string directory, string output, int? imageSize, ResolutionRule resolution, string[]? labels, int batchSize, CancellationToken cancellationToken)
    {
        var files = Directory.EnumerateFiles(directory)
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            throw new InvalidDataException($"{directory}: no images (.jpg, .jpeg, .png, .bmp, .gif, .webp) found");
        }

        if (labels is not null && labels.Length < model.HeadSize)
        {
            throw new InvalidDataException($"labels file has {labels.Length} line(s) but the model has {model.HeadSize} classes");
        }

        var rows = new List<string> { Header() };
        // Consecutive images that resize to the same square share a forward pass.
        var pending = new List<(string File, float[] Pixels)>();
        int pendingSize = 0;
        foreach (string file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var image = ImageDecoder.Decode(file);
            int size = imageSize ?? HyperRule.Resolution(image.Height, image.Width, resolution).CropSize;
            if (pending.Count > 0 && (size != pendingSize || pending.Count == batchSize))
            {
                rows.AddRange(Classify(model, pending, pendingSize, labels));
                pending.Clear();
            }

            pendingSize = size;
            pending.Add((Path.GetFileName(file), ImageDecoder.ToNormalizedChw(ImageDecoder.Resize(image, size, size))));
        }

        rows.AddRange(Classify(model, pending, pendingSize, labels));
        string temp = output + ".tmp";
        await File.WriteAllLinesAsync(temp, rows, cancellationToken).ConfigureAwait(false);
        File.Move(temp, output, overwrite: true);
        return files.Count;
    }

    private static string Header() =>
        "file," + string.Join(',', Enumerable.Range(1, TopK).Select(k => $"class{k},probability{k}"));

    private static IEnumerable<string> Classify(BitResNet model, List<(string File, float[] Pixels)> batch, int size, string[]? labels)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = stack(batch.Select(b => tensor(b.Pixels).reshape(3, size, size)), 0);
        var probabilities = nn.functional.softmax(model.forward(input), 1);
        var (values, indices) = probabilities.topk(Math.Min(TopK, model.HeadSize), dim: 1);
        float[] p = values.data<float>().ToArray();
        long[] c = indices.data<long>().ToArray();
        int k = (int)values.shape[1];
        var rows = new List<string>(batch.Count);
        for (int i = 0; i < batch.Count; i++)
        {
            var cells = new List<string> { Csv(batch[i].File) };
            for (int j = 0; j < TopK; j++)
            {
                if (j < k)
                {
                    long cls = c[(i * k) + j];
                    cells.Add(Csv(labels is null ? cls.ToString(CultureInfo.InvariantCulture) : labels[cls].Trim()));
                    cells.Add(p[(i * k) + j].ToString("0.######", CultureInfo.InvariantCulture));
                }
                else
                {
                    cells.Add("");
                    cells.Add("");
                }
            }

            rows.Add(string.Join(',', cells));
        }

        return rows;
    }

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
