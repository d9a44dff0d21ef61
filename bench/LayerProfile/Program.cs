using System.Diagnostics;
using System.Globalization;
using BiT.Model;
using BiT.Model.Native;
using static TorchSharp.torch;

// Forward + backward milliseconds of each distinct convolution shape of R50x1 (batch 8 at 128 px unless told),
// by path: "conv" (F.conv2d, NCHW input), "conv-cl" (channels-last input), "linear" (1x1 as a matrix product over
// the channels-last view, as StdConv2d runs it), plus GroupNorm (NCHW and channels-last) and weight
// standardisation. "gn-native" and "gn-cl-native" time the same GroupNorms by the project's native kernels
// (Model/Native/NativeGroupNorm.cs, libbitgn.so) for an A/B against "gn" and "gn-cl" (libtorch's group_norm).
// Prints "LAYER <path> <name> <ms> <count>" lines; layers.py prints the same for PyTorch.
//   LayerProfile [--batch 8] [--size 128] [--threads 2] [--repeat 3] [--onednn on|off] [--paths conv,conv-cl,linear,gn,gn-cl,gn-native,gn-cl-native,ws]
var options = args.Select((a, i) => (a, i)).Where(p => p.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(p => p.a[2..], p => p.i + 1 < args.Length ? args[p.i + 1] : "", StringComparer.Ordinal);
string Get(string name, string fallback) => options.TryGetValue(name, out string? v) ? v : fallback;
int batch = int.Parse(Get("batch", "8"), CultureInfo.InvariantCulture);
int size = int.Parse(Get("size", "128"), CultureInfo.InvariantCulture);
int threads = int.Parse(Get("threads", "2"), CultureInfo.InvariantCulture);
int repeat = int.Parse(Get("repeat", "3"), CultureInfo.InvariantCulture);
var paths = Get("paths", "conv,conv-cl,linear,gn,gn-cl,ws").Split(',').ToHashSet(StringComparer.Ordinal);
NativeHeap.Configure();
// As the trainer does before libtorch loads: oneMKL's kernels by the CPU's features (Model/Native/MklDispatch.cs).
var mkl = MklDispatch.Apply();
set_num_threads(threads);
BackendSwitches.OneDnn = Get("onednn", "on") == "on";
BackendSwitches.Nnpack = false;
Console.WriteLine($"torchsharp layers: batch {batch} at {size}px, {get_num_threads()} threads, oneDNN {BackendSwitches.OneDnn}, oneMKL {MklDispatch.KernelDescription() ?? "absent"} ({mkl.Reason}); {NativeGroupNorm.Description()}");
if ((paths.Contains("gn-native") || paths.Contains("gn-cl-native")) && !NativeGroupNorm.IsAvailable)
{
    Console.Error.WriteLine($"gn-native needs {NativeGroupNorm.LibraryFileName}: {NativeGroupNorm.Description()}");
    return 1;
}

var shapes = Shapes(size);
double lastWall = double.MaxValue;
double total = 0;
string? only = options.GetValueOrDefault("only");
foreach (var s in shapes.Where(s => only is null || s.Name == only))
{
    foreach (string path in new[] { "conv", "conv-cl", "linear", "matmul", "bmm" })
    {
        if (!paths.Contains(path) || (path is "linear" or "matmul" or "bmm" && s.Kernel != 1))
        {
            continue;
        }
        // oneDNN's 1x1 backward-data faults on this CPU's small maps; its 1x1 rows are asked for explicitly.
        if (path is "conv" or "conv-cl" && s.Kernel == 1 && BackendSwitches.OneDnn && !paths.Contains("onednn-1x1"))
        {
            continue;
        }
        double ms = Time(() => Conv(path, s));
        total += ms * s.Count;
        Report(path, s.Name, ms, s.Count);
    }
}
foreach (var (channels, hw, count) in Norms(size))
{
    foreach (string path in new[] { "gn", "gn-cl", "gn-cl-nchw", "gn-native", "gn-cl-native" })
    {
        if (paths.Contains(path))
        {
            double ms = Time(() => Norm(path.StartsWith("gn-cl", StringComparison.Ordinal), channels, hw, viaNchw: path == "gn-cl-nchw", native: path.EndsWith("-native", StringComparison.Ordinal)));
            total += ms * count;
            Report(path, $"c{channels}@{hw}", ms, count);
        }
    }
}
if (paths.Contains("ws"))
{
    foreach (var s in shapes)
    {
        double ms = Time(() => Ws(s));
        total += ms * s.Count;
        Report("ws", s.Name, ms, s.Count);
    }
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"TOTAL {total:F1} ms (sum of rows x counts)"));
return 0;

// The least process CPU milliseconds over the repeats (steadier than wall time on a shared machine; run with
// OMP_WAIT_POLICY=passive so that spinning threads do not count), and the least wall milliseconds beside it.
double Time(Func<Action> prepare)
{
    var run = prepare();
    run();
    double best = double.MaxValue;
    var process = Process.GetCurrentProcess();
    for (int i = 0; i < repeat; i++)
    {
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        var w = Stopwatch.StartNew();
        run();
        process.Refresh();
        best = Math.Min(best, (process.TotalProcessorTime - cpu).TotalMilliseconds);
        lastWall = Math.Min(lastWall, w.Elapsed.TotalMilliseconds);
    }
    return best;
}

void Report(string path, string name, double ms, int count)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"LAYER {path} {name} {ms:F2} x{count} wall {lastWall:F2}"));
    lastWall = double.MaxValue;
}

Action Conv(string path, Shape s)
{
    var x = randn(batch, s.In, s.Hw, s.Hw);
    if (path is "conv-cl" or "linear")
    {
        x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    }
    x.requires_grad_(true);
    var w = randn(s.Out, s.In, s.Kernel, s.Kernel).requires_grad_(true);
    return () =>
    {
    using var scope = NewDisposeScope();
    Tensor y;
    if (path == "linear")
    {
        var v = s.Stride == 1 ? x : x.slice(2, 0, s.Hw, s.Stride).slice(3, 0, s.Hw, s.Stride);
        y = nn.functional.linear(v.permute(0, 2, 3, 1), w.flatten(1)).permute(0, 3, 1, 2);
    }
    else if (path is "matmul" or "bmm")
    {
        var v = s.Stride == 1 ? x : x.slice(2, 0, s.Hw, s.Stride).slice(3, 0, s.Hw, s.Stride);
        long h = v.shape[2], ww = v.shape[3];
        var flat = v.reshape(batch, s.In, h * ww);
        var k = w.flatten(1);
        y = (path == "matmul" ? matmul(k, flat) : bmm(k.expand(batch, s.Out, s.In), flat)).view(batch, s.Out, h, ww);
    }
    else
    {
        y = nn.functional.conv2d(x, w, null, [s.Stride, s.Stride], [s.Padding, s.Padding]);
    }
    y.backward([ones_like(y)]);
    x.grad = null; w.grad = null;
    };
}

// viaNchw: channels-last input copied to NCHW, normalised, copied back; native: libbitgn.so's kernels.
Action Norm(bool channelsLast, long channels, long hw, bool viaNchw, bool native)
{
    var x = randn(batch, channels, hw, hw);
    if (channelsLast)
    {
        x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    }
    x.requires_grad_(true);
    var g = ones(channels).requires_grad_(true);
    var b = zeros(channels).requires_grad_(true);
    return () =>
    {
        using var scope = NewDisposeScope();
        var y = native
            ? NativeGroupNorm.GroupNorm(x, g, b, 32, 1e-5)
            : viaNchw
            ? nn.functional.group_norm(x.contiguous(), 32, g, b, 1e-5).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
            : nn.functional.group_norm(x, 32, g, b, 1e-5);
        y.backward([ones_like(y)]);
        x.grad = null; g.grad = null; b.grad = null;
    };
}

Action Ws(Shape s)
{
    var w = randn(s.Out, s.In, s.Kernel, s.Kernel).requires_grad_(true);
    return () =>
    {
        using var scope = NewDisposeScope();
        var y = StdConv2d.Standardize(w);
        y.backward([ones_like(y)]);
        w.grad = null;
    };
}

static List<Shape> Shapes(int size)
{
    var list = new List<Shape> { new("root7x7", 3, 64, 7, 2, 3, size, 1) };
    int hw = size / 4;
    int cin = 64;
    int[] units = [3, 4, 6, 3];
    for (int stage = 0; stage < 4; stage++)
    {
        int cout = 256 << stage, mid = cout / 4, stride = stage == 0 ? 1 : 2, outHw = hw / stride;
        list.Add(new($"s{stage + 1}.conv1.first", cin, mid, 1, 1, 0, hw, 1));
        list.Add(new($"s{stage + 1}.conv2.first", mid, mid, 3, stride, 1, hw, 1));
        list.Add(new($"s{stage + 1}.proj", cin, cout, 1, stride, 0, hw, 1));
        list.Add(new($"s{stage + 1}.conv1", cout, mid, 1, 1, 0, outHw, units[stage] - 1));
        list.Add(new($"s{stage + 1}.conv2", mid, mid, 3, 1, 1, outHw, units[stage] - 1));
        list.Add(new($"s{stage + 1}.conv3", mid, cout, 1, 1, 0, outHw, units[stage]));
        cin = cout;
        hw = outHw;
    }
    return list;
}

static List<(long Channels, long Hw, int Count)> Norms(int size)
{
    // gn1 of each unit (its input), gn2 and gn3 (mid channels), and the final norm.
    var list = new List<(long, long, int)>();
    int hw = size / 4, cin = 64;
    int[] units = [3, 4, 6, 3];
    for (int stage = 0; stage < 4; stage++)
    {
        int cout = 256 << stage, mid = cout / 4, outHw = stage == 0 ? hw : hw / 2;
        list.Add((cin, hw, 1));
        list.Add((cout, outHw, units[stage] - 1));
        list.Add((mid, hw, 1));
        list.Add((mid, outHw, 2 * units[stage] - 1));
        cin = cout;
        hw = outHw;
    }
    list.Add((2048, hw, 1));
    return list;
}

internal sealed record Shape(string Name, long In, long Out, long Kernel, long Stride, long Padding, long Hw, int Count);
