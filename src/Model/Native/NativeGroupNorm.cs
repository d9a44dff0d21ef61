using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Model.Native;

/// <summary>
/// GroupNorm for float32 CPU tensors in the two dense 4-D layouts (channels-last and contiguous NCHW), forward and
/// backward, in <c>libbitgn.so</c> (<c>Native/gn/bitgn.c</c>, built with the project like <c>libbitmkl.so</c>).
/// <para>
/// libtorch 2.10's CPU GroupNorm on channels-last input took about a quarter of the README example's training
/// samples (forward 14.6 %, backward 9.0 %, copies inside it 4.6 %) and about a tenth of an R50x1 step. The native
/// kernels read the input once for the statistics and once for the output (twice and once in backward), in vector
/// code chosen for the CPU at load time (AVX-512, AVX2 or plain x86-64), split over <c>torch.get_num_threads()</c>
/// threads by sample and group. Results do not depend on the thread count and repeat bitwise.
/// </para>
/// <para>
/// <see cref="GroupNorm32"/> uses it where <see cref="Applies"/> holds: the library loaded, <c>BIT_NATIVE_GROUPNORM</c>
/// is not <c>0</c>/<c>off</c>, and the input is a 4-D float32 CPU tensor in channels-last layout (1x1 maps included,
/// whose two layouts are the same memory). Contiguous NCHW input stays with libtorch by default, whose NCHW kernel
/// measured 2-4x faster than this one per layer (bench/LayerProfile); <c>BIT_NATIVE_GROUPNORM=all</c> takes it too.
/// Anything else (CUDA, bf16, other layouts, a host built without a C compiler) runs libtorch's <c>group_norm</c>.
/// </para>
/// </summary>
public static unsafe class NativeGroupNorm
{
    /// <summary>
    /// The environment variable: <c>0</c>/<c>off</c> (libtorch's kernels), <c>all</c> (native for NCHW input too), or
    /// anything else (the default: native for channels-last input).
    /// </summary>
    public const string EnvironmentVariable = "BIT_NATIVE_GROUPNORM";

    /// <summary>Which inputs the native kernels take.</summary>
    public enum Mode
    {
        /// <summary>None: libtorch's group_norm everywhere.</summary>
        Off,

        /// <summary>Channels-last float32 CPU input (the default).</summary>
        ChannelsLast,

        /// <summary>Channels-last and contiguous NCHW float32 CPU input.</summary>
        All,
    }

    /// <summary>The library's file name, next to the application's assemblies.</summary>
    public const string LibraryFileName = "libbitgn.so";

    private static readonly Lazy<Entry> Loaded = new(Load);

    // The switch is read once per process, not on every GroupNorm call.
    private static readonly Lazy<Mode> Setting = new(() => ModeBySetting(Environment.GetEnvironmentVariable(EnvironmentVariable)));

    [ThreadStatic]
    private static Mode? _threadOverride;

    /// <summary>Whether the library loaded (independent of the switch).</summary>
    public static bool IsAvailable => Loaded.Value.Ok;

    /// <summary>Which inputs GroupNorm32 gives the native kernels: the switch, and Off without the library.</summary>
    public static Mode Current => IsAvailable ? _threadOverride ?? Setting.Value : Mode.Off;

    /// <summary>
    /// Tests: forces the switch on this thread (null: the environment decides again). Forward decides on the
    /// calling thread; the backward of a native forward stays native.
    /// </summary>
    internal static Mode? ThreadOverride
    {
        get => _threadOverride;
        set => _threadOverride = value;
    }

    /// <summary>The mode for a setting: Off for <c>0</c>, <c>off</c>, <c>false</c>; All for <c>all</c>; else ChannelsLast.</summary>
    public static Mode ModeBySetting(string? setting) => setting?.Trim().ToLowerInvariant() switch
    {
        "0" or "off" or "false" => Mode.Off,
        "all" => Mode.All,
        _ => Mode.ChannelsLast,
    };

    /// <summary>One line for start-up logs: which GroupNorm float32 CPU training runs, and why.</summary>
    public static string Description()
    {
        var setting = Environment.GetEnvironmentVariable(EnvironmentVariable);
        var mode = ModeBySetting(setting);
        if (mode == Mode.Off)
        {
            return $"GroupNorm: libtorch ({EnvironmentVariable}={setting})";
        }
        var entry = Loaded.Value;
        return !entry.Ok
            ? $"GroupNorm: libtorch ({entry.Reason})"
            : mode == Mode.All
            ? $"GroupNorm: native {LibraryFileName} for float32 CPU channels-last and NCHW ({EnvironmentVariable}={setting})"
            : $"GroupNorm: native {LibraryFileName} for float32 CPU channels-last, libtorch's for NCHW ({EnvironmentVariable}=0 for libtorch's everywhere)";
    }

    /// <summary>Whether the native kernels take this call (see the class summary).</summary>
    public static bool Applies(Tensor input, Tensor weight, Tensor bias, long groups)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(bias);
        if (input.device_type != DeviceType.CPU || input.dtype != ScalarType.Float32 || input.dim() != 4)
        {
            return false;
        }
        var channels = input.shape[1];
        return groups > 0 && channels % groups == 0
            && input.numel() > 0
            && IsParameterVector(weight, channels) && IsParameterVector(bias, channels)
            && LayoutOf(input) switch
            {
                Layout.Nhwc => Current != Mode.Off,
                Layout.Nchw => Current == Mode.All,
                _ => false,
            };
    }

    /// <summary>
    /// GroupNorm of <paramref name="input"/> by the native kernels (call only where <see cref="Applies"/> holds),
    /// followed by a ReLU where <paramref name="relu"/> is set (one pass instead of two, forward and backward): a
    /// custom autograd node where gradients are recorded, a plain forward otherwise.
    /// </summary>
    public static Tensor GroupNorm(Tensor input, Tensor weight, Tensor bias, long groups, double eps, bool relu = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        GroupNormFunction.ReleaseReturned();
        var record = is_grad_enabled() && (input.requires_grad || weight.requires_grad || bias.requires_grad);
        using var scope = NewDisposeScope();
        if (record)
        {
            // The scope also frees what TorchSharp's node makes per call (a copy of the output's wrapper and an
            // empty tensor the size of the output, kept for undefined gradients this network never produces).
            return GroupNormFunction.apply(input, weight, bias, groups, eps, relu).MoveToOuterDisposeScope();
        }
        var (y, _, _) = Forward(input, weight, bias, groups, eps, relu);
        return y.MoveToOuterDisposeScope();
    }

    internal enum Layout
    {
        Other,
        Nchw,
        Nhwc,
    }

    /// <summary>The memory layout of a 4-D tensor: dense NCHW, dense channels-last, or something else.</summary>
    internal static Layout LayoutOf(Tensor x)
    {
        if (x.dim() != 4)
        {
            return Layout.Other;
        }
        var shape = x.shape;
        var stride = x.stride();
        long c = shape[1], h = shape[2], w = shape[3];
        // Channels-last first: on 1x1 maps both match (the same memory), and its kernel is the faster there.
        if (Matches(shape, stride, [h * w * c, 1, w * c, c]))
        {
            return Layout.Nhwc;
        }
        if (Matches(shape, stride, [c * h * w, h * w, w, 1]))
        {
            return Layout.Nchw;
        }
        return Layout.Other;

        static bool Matches(long[] shape, long[] stride, long[] expected)
        {
            for (var i = 0; i < 4; i++)
            {
                // A dimension of size 1 is never stepped over; libtorch leaves its stride free.
                if (shape[i] != 1 && stride[i] != expected[i])
                {
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>Forward: y (same layout as the input) and the per-(sample, group) mean and 1/std, float32 [N, G].</summary>
    internal static (Tensor Y, Tensor Mean, Tensor Rstd) Forward(Tensor input, Tensor weight, Tensor bias, long groups, double eps, bool relu)
    {
        var entry = Loaded.Value;
        var layout = LayoutOf(input);
        long n = input.shape[0], c = input.shape[1], hw = input.shape[2] * input.shape[3];
        var y = empty_like(input);
        if (LayoutOf(y) != layout)
        {
            y.Dispose();
            y = Like(input, layout);
        }
        var mean = empty(n, groups, ScalarType.Float32);
        var rstd = empty(n, groups, ScalarType.Float32);
        using var w = weight.contiguous();
        using var b = bias.contiguous();
        nint px = Data(input), py = Data(y), pw = Data(w), pb = Data(b), pm = Data(mean), pr = Data(rstd);
        var kernel = layout == Layout.Nhwc ? entry.ForwardNhwc : entry.ForwardNchw;
        var fused = relu ? 1 : 0;
        RunSlabs(n, groups, (sample, g0, g1) =>
            ((delegate* unmanaged<nint, nint, nint, nint, nint, nint, long, long, long, double, long, long, long, int, int>)kernel)(
                px, py, pw, pb, pm, pr, c, hw, groups, eps, sample, g0, g1, fused));
        return (y, mean, rstd);
    }

    /// <summary>
    /// Backward: dx (null where <paramref name="inputGrad"/> is false), dweight, dbias; with <paramref name="relu"/>
    /// (the bias needed then) the gradient of relu(GroupNorm).
    /// </summary>
    internal static (Tensor? Dx, Tensor Dweight, Tensor Dbias) Backward(
        Tensor gradOutput, Tensor input, Tensor weight, Tensor? bias, Tensor mean, Tensor rstd, long groups, bool inputGrad, bool relu)
    {
        var entry = Loaded.Value;
        var layout = LayoutOf(input);
        long n = input.shape[0], c = input.shape[1], hw = input.shape[2] * input.shape[3];
        using var scope = NewDisposeScope();
        var dy = gradOutput;
        if (LayoutOf(dy) != layout)
        {
            dy = layout == Layout.Nhwc ? dy.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : dy.contiguous();
        }
        Tensor? dx = null;
        if (inputGrad)
        {
            dx = empty_like(input);
            if (LayoutOf(dx) != layout)
            {
                dx = Like(input, layout);
            }
        }
        var dweight = empty(c, ScalarType.Float32);
        var dbias = empty(c, ScalarType.Float32);
        var w = weight.contiguous();
        var b = relu ? bias!.contiguous() : null;
        var parts = (double*)NativeMemory.Alloc((nuint)(2 * n * c), (nuint)sizeof(double));
        try
        {
            nint pdy = Data(dy), px = Data(input), pm = Data(mean), pr = Data(rstd), pw = Data(w);
            nint pb = b is null ? 0 : Data(b), pdx = dx is null ? 0 : Data(dx), pg = (nint)parts, pbp = (nint)(parts + n * c);
            var kernel = layout == Layout.Nhwc ? entry.BackwardNhwc : entry.BackwardNchw;
            var fused = relu ? 1 : 0;
            RunSlabs(n, groups, (sample, g0, g1) =>
                ((delegate* unmanaged<nint, nint, nint, nint, nint, nint, nint, nint, nint, long, long, long, long, long, long, int, int>)kernel)(
                    pdy, px, pm, pr, pw, pb, pdx, pg, pbp, c, hw, groups, sample, g0, g1, fused));
            ((delegate* unmanaged<nint, nint, nint, nint, long, long, void>)entry.ReduceParts)(pg, pbp, Data(dweight), Data(dbias), n, c);
        }
        finally
        {
            NativeMemory.Free(parts);
        }
        return (dx?.MoveToOuterDisposeScope(), dweight.MoveToOuterDisposeScope(), dbias.MoveToOuterDisposeScope());
    }

    private static bool IsParameterVector(Tensor t, long channels) =>
        t.device_type == DeviceType.CPU && t.dtype == ScalarType.Float32 && t.dim() == 1 && t.shape[0] == channels;

    private static Tensor Like(Tensor input, Layout layout) => layout == Layout.Nhwc
        ? empty(input.shape[0], input.shape[2], input.shape[3], input.shape[1], ScalarType.Float32).permute(0, 3, 1, 2)
        : empty(input.shape, ScalarType.Float32);

    /// <summary>
    /// Runs the kernel over (sample, group range) slabs on up to torch.get_num_threads() threads: whole samples where
    /// the batch covers the threads twice, else samples cut into equal group ranges.
    /// </summary>
    private static void RunSlabs(long n, long groups, Func<long, long, long, int> slab)
    {
        var threads = Math.Max(1, get_num_threads());
        long blocks = 1;
        while (n * blocks < 2L * threads && blocks < groups && groups % (blocks * 2) == 0)
        {
            blocks *= 2;
        }
        var span = groups / blocks;
        var items = n * blocks;
        var failed = 0;
        if (threads == 1 || items == 1)
        {
            for (long i = 0; i < items; i++)
            {
                failed |= slab(i / blocks, i % blocks * span, (i % blocks + 1) * span) != 0 ? 1 : 0;
            }
        }
        else
        {
            Parallel.For(0L, items, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
            {
                if (slab(i / blocks, i % blocks * span, (i % blocks + 1) * span) != 0)
                {
                    Interlocked.Exchange(ref failed, 1);
                }
            });
        }
        if (failed != 0)
        {
            throw new OutOfMemoryException($"{LibraryFileName}: a GroupNorm kernel could not allocate its work space");
        }
    }

    [DllImport("LibTorchSharp")]
    private static extern nint THSTensor_data(nint tensor);

    /// <summary>The address of a tensor's first element (libtorch's data_ptr, storage offset included).</summary>
    private static nint Data(Tensor t)
    {
        var p = THSTensor_data(t.Handle);
        if (p == 0)
        {
            throw new InvalidOperationException("libtorch returned no data pointer");
        }
        return p;
    }

    private sealed record Entry(bool Ok, string Reason, nint ForwardNhwc, nint BackwardNhwc, nint ForwardNchw, nint BackwardNchw, nint ReduceParts);

    private static Entry Load()
    {
        static Entry Fail(string reason) => new(false, reason, 0, 0, 0, 0, 0);
        if (!OperatingSystem.IsLinux())
        {
            return Fail("not Linux");
        }
        var path = Path.Combine(AppContext.BaseDirectory, LibraryFileName);
        if (!File.Exists(path))
        {
            return Fail($"{LibraryFileName} is missing next to the application (built only where a C compiler was found)");
        }
        if (!NativeLibrary.TryLoad(path, out var library))
        {
            return Fail($"{LibraryFileName} could not be loaded");
        }
        nint Export(string name) => NativeLibrary.TryGetExport(library, name, out var address) ? address : 0;
        var version = Export("bitgn_abi_version");
        if (version == 0 || ((delegate* unmanaged<int>)version)() != 2)
        {
            return Fail($"{LibraryFileName} is of another version");
        }
        var entry = new Entry(true, "loaded", Export("bitgn_forward_nhwc"), Export("bitgn_backward_nhwc"),
            Export("bitgn_forward_nchw"), Export("bitgn_backward_nchw"), Export("bitgn_reduce_parts"));
        return entry.ForwardNhwc == 0 || entry.BackwardNhwc == 0 || entry.ForwardNchw == 0 || entry.BackwardNchw == 0 || entry.ReduceParts == 0
            ? Fail($"{LibraryFileName} lacks a kernel")
            : entry;
    }

    /// <summary>The autograd node: saves the input, weight, mean and 1/std; backward runs the native kernel.</summary>
    private sealed class GroupNormFunction : autograd.SingleTensorFunction<GroupNormFunction>
    {
        // The wrappers of gradients handed to libtorch by earlier backward calls on this thread. libtorch copies its
        // own reference as soon as backward returns, so a wrapper only pins the memory from then on; left in the
        // caller's dispose scope it would keep every GroupNorm's input gradient until the end of the step. The next
        // backward or forward on the thread frees them.
        [ThreadStatic]
        private static List<Tensor>? _returned;

        public override string Name => "BitNativeGroupNorm";

        internal static void ReleaseReturned()
        {
            if (_returned is { Count: > 0 } list)
            {
                foreach (var t in list)
                {
                    t.Dispose();
                }
                list.Clear();
            }
        }

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var input = (Tensor)vars[0];
            var weight = (Tensor)vars[1];
            var bias = (Tensor)vars[2];
            var groups = (long)vars[3];
            var relu = (bool)vars[5];
            var (y, mean, rstd) = Forward(input, weight, bias, groups, (double)vars[4], relu);
            // With the ReLU fused, backward recomputes its mask from x, the statistics, the weight and the bias.
            ctx.save_for_backward(relu ? [input, weight, mean, rstd, bias] : [input, weight, mean, rstd]);
            ctx.save_data("groups", groups);
            ctx.save_data("relu", relu);
            ctx.save_data("grads", (input.requires_grad, weight.requires_grad, bias.requires_grad));
            return y;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            ReleaseReturned();
            var groups = (long)ctx.get_data("groups");
            var relu = (bool)ctx.get_data("relu");
            var (inputGrad, weightGrad, biasGrad) = ((bool, bool, bool))ctx.get_data("grads");
            Tensor? dx, dweight, dbias;
            using (var scope = NewDisposeScope())
            {
                var saved = ctx.get_saved_variables();
                (dx, dweight, dbias) = Backward(grad_output, saved[0], saved[1], relu ? saved[4] : null, saved[2], saved[3], groups, inputGrad, relu);
                _returned ??= [];
                foreach (var t in new[] { dx, dweight, dbias })
                {
                    if (t is not null)
                    {
                        t.DetachFromDisposeScope();
                        _returned.Add(t);
                    }
                }
            }
            // TorchSharp wrapped the incoming gradient for this call only; libtorch holds its own reference.
            grad_output.Dispose();
            return [dx!, weightGrad ? dweight : null!, biasGrad ? dbias : null!, null!, null!, null!];
        }
    }
}
