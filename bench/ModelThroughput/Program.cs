using System.Diagnostics;
using System.Globalization;
using BiT.Model;
using BiT.Model.Native;
using TorchSharp;
using static TorchSharp.torch;

// As the trainer does, before libtorch loads: a passive OpenMP wait unless the environment chooses.
OpenMpDefaults.Apply();
var mkl = MklDispatch.Apply();
if (KernelProbe.RunIfRequested() is { } probeExit)
{
    return probeExit;
}

// One SGD training step of BiT R50x1 (forward, cross-entropy, backward, SGD momentum 0.9) timed per
// configuration; a mode ending in "forward" (fp32-forward) times the forward pass alone, without autograd. Prints "RESULT torchsharp <mode> <images/s> <seconds/step>" lines for run.sh.
var options = args.Select((a, i) => (a, i)).Where(p => p.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(p => p.a[2..], p => p.i + 1 < args.Length ? args[p.i + 1] : "", StringComparer.Ordinal);
string Get(string name, string fallback) => options.TryGetValue(name, out string? v) ? v : fallback;
int batch = int.Parse(Get("batch", "8"), CultureInfo.InvariantCulture);
int size = int.Parse(Get("size", "128"), CultureInfo.InvariantCulture);
int warmup = int.Parse(Get("warmup", "2"), CultureInfo.InvariantCulture);
int steps = int.Parse(Get("steps", "5"), CultureInfo.InvariantCulture);
int threads = int.Parse(Get("threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
string model = Get("model", "R50x1");
string[] modes = Get("modes", "fp32,channels-last,bf16,bf16-channels-last").Split(',');
// --device cuda times the same step on the first GPU (bench/gpu/trainer_check.sh); the default is the CPU.
string deviceName = Get("device", "cpu");
if (deviceName is not ("cpu" or "cuda"))
{
    Console.Error.WriteLine($"--device {deviceName}: expected cpu or cuda");
    return 2;
}

if (deviceName == "cuda" && !cuda.is_available())
{
    Console.Error.WriteLine("--device cuda: libtorch sees no CUDA device (a CUDA build of libtorch on the loader path and a GPU are needed)");
    return 2;
}

var device = deviceName == "cuda" ? CUDA : CPU;

set_num_threads(threads);
var kernelWatch = Stopwatch.StartNew();
var kernels = CpuKernels.Configure(KernelProbe.ForThisProcess);
Console.WriteLine($"torchsharp: {model} batch {batch} at {size}px, {warmup} warm-up + {steps} timed steps, {get_num_threads()} threads, device {deviceName}");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"KERNELS torchsharp {(kernels.OneDnn ? "oneDNN" : "native")} ({kernels.Reason}; chosen in {kernelWatch.Elapsed.TotalSeconds:F1} s; OMP_WAIT_POLICY {OpenMpDefaults.NativeValue(OpenMpDefaults.WaitPolicyVariable) ?? "unset"}; malloc tuned {NativeHeap.Configure()}; oneMKL {MklDispatch.KernelDescription() ?? "absent"}: {mkl.Reason}; {NativeGroupNorm.Description()})"));
foreach (string mode in modes)
{
    try
    {
        Run(mode);
    }
    catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or InvalidOperationException)
    {
        // A mode this libtorch build cannot run is reported, not fatal.
        Console.WriteLine($"RESULT torchsharp {mode} n/a n/a n/a ({e.Message.Split('\n')[0]})");
    }
}

return 0;

void Run(string mode)
{
    random.manual_seed(0);
    using var net = BitResNet.Create(BitArchitecture.Parse(model), 1000);
    net.to(device);
    net.ChannelsLast = mode.Contains("channels-last", StringComparison.Ordinal);
    net.ComputeType = mode.StartsWith("bf16", StringComparison.Ordinal) ? ScalarType.BFloat16 : ScalarType.Float32;
    using (no_grad())
    {
        // A non-zero head, so that gradients reach the body as in any step after the first.
        foreach (var p in net.Head.parameters())
        {
            p.normal_(0, 0.01);
        }
    }

    net.train();
    using var optimizer = optim.SGD(net.parameters(), 0.003, momentum: 0.9);
    using var images = (rand(batch, 3, size, size) * 2 - 1).to(device);
    using var labels = randint(0, 1000, [batch], ScalarType.Int64).to(device);
    var watch = new Stopwatch();
    var cpuStart = TimeSpan.Zero;
    for (int step = 0; step < warmup + steps; step++)
    {
        if (step == warmup)
        {
            Synchronize();
            watch.Start();
            cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        }

        using var scope = NewDisposeScope();
        if (mode.EndsWith("forward", StringComparison.Ordinal))
        {
            // Forward only (inference): no autograd graph.
            using var noGrad = no_grad();
            net.forward(images).sum().item<float>();
            continue;
        }
        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(net.forward(images), labels);
        loss.backward();
        optimizer.step();
        if (!float.IsFinite(loss.item<float>()))
        {
            throw new InvalidOperationException($"{mode}: loss is not finite");
        }
    }

    Synchronize();
    watch.Stop();
    double seconds = watch.Elapsed.TotalSeconds / steps;
    // CPU seconds per step as well: on a shared machine the wall clock also counts other people's work.
    double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds / steps;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT torchsharp {mode} {batch / seconds:F2} {seconds:F3} {cpu:F3}"));
}

// Queued GPU work finishes before a clock is read; a no-op on the CPU.
void Synchronize()
{
    if (device.type == DeviceType.CUDA)
    {
        cuda.synchronize();
    }
}
