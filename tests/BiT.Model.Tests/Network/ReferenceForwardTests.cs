using System.Diagnostics;
using BiT.Model;
using BiT.Model.Tests.TestSupport;
using static TorchSharp.torch;

namespace BiT.Model.Tests.Network;

/// <summary>
/// Compares the forward pass with an independent PyTorch implementation (reference/bit_reference.py, written from the
/// recipe) run by Debian's python3-torch on the same published-layout checkpoint and input.
/// </summary>
public sealed class ReferenceForwardTests : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("R1-1-1-1x1", 10, 64, 2)]
    [InlineData("R2-1-2-1x0.5", 7, 96, 3)]
    [InlineData("R50x1", 10, 32, 1)]
    public void Logits_match_the_pytorch_reference(string name, int headSize, int size, int batch)
    {
        using var model = BitResNet.Create(BitArchitecture.Parse(name), headSize, seed: 17);
        random.manual_seed(18);
        using (no_grad())
        {
            // Random GroupNorm affines and a non-zero head, so that every parameter shapes the logits.
            foreach (var (parameterName, p) in model.named_parameters())
            {
                if (parameterName.Contains("gn", StringComparison.Ordinal) || parameterName.StartsWith("head.conv", StringComparison.Ordinal))
                {
                    p.copy_(randn_like(p) * 0.5 + (parameterName.EndsWith("gn.weight", StringComparison.Ordinal) ? 1 : 0));
                }
            }
        }

        string weights = _dir.File("weights.npz");
        string input = _dir.File("input.npy");
        string output = _dir.File("reference.npy");
        NpzWeights.Save(model, weights);
        using var x = rand(batch, 3, size, size) * 2 - 1;
        Npy.Write(input, x);

        RunReference(weights, input, output);

        using var expected = Npy.Read(output);
        model.eval();
        using var noGrad = no_grad();
        using var actual = model.forward(x);
        Assert.Equal(new long[] { batch, headSize }, expected.shape);
        Assert.Equal(expected.shape, actual.shape);
        float scale = expected.abs().max().item<float>();
        Assert.True(scale > 0.1f, $"reference logits are degenerate (max |logit| {scale})");
        float diff = (actual - expected).abs().max().item<float>();
        Assert.True(diff <= 1e-4f * Math.Max(1f, scale), $"max |difference| {diff} with logits up to {scale}");
    }

    private static void RunReference(string weights, string input, string output)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "reference", "bit_reference.py");
        Assert.True(File.Exists(Python), $"{Python} is needed (scripts/install-test-deps.sh installs python3-torch)");
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (string arg in new[] { script, weights, input, output, "--threads", "2" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "the reference did not finish in 2 minutes");
        Assert.True(process.ExitCode == 0, $"reference failed ({process.ExitCode}): {stdout.Result}{stderr.Result}");
    }
}
