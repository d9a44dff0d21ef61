using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace BiT.Model.Native;

/// <summary>
/// libtorch's switches for its oneDNN (mkldnn) and NNPACK CPU kernels: <c>torch.backends.mkldnn.enabled</c> and
/// <c>torch.backends.nnpack.enabled</c> in Python, which TorchSharp does not expose. With both off, CPU convolutions
/// run PyTorch's native kernels (im2col + BLAS). Read and written through libtorch_cpu's exported
/// <c>at::globalContext()</c> and <c>at::Context::{userEnabledMkldnn, setUserEnabledMkldnn, userEnabledNNPACK,
/// setUserEnabledNNPACK}</c> (Itanium C++ ABI: the context is the first argument).
/// </summary>
public static class BackendSwitches
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GlobalContextFn();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    [return: MarshalAs(UnmanagedType.U1)]
    private delegate bool GetFn(IntPtr context);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetFn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    private sealed record Exports(GlobalContextFn Context, GetFn GetOneDnn, SetFn SetOneDnn, GetFn GetNnpack, SetFn SetNnpack);

    private static readonly Lazy<Exports?> Bound = new(Bind);

    /// <summary>Whether this build of libtorch exports the switches.</summary>
    public static bool IsAvailable => Bound.Value is not null;

    /// <summary>libtorch's oneDNN switch (on unless turned off).</summary>
    public static bool OneDnn
    {
        get => Get(e => e.GetOneDnn);
        set => Set(e => e.SetOneDnn, value);
    }

    /// <summary>libtorch's NNPACK switch (on unless turned off; NNPACK itself may still decline the CPU).</summary>
    public static bool Nnpack
    {
        get => Get(e => e.GetNnpack);
        set => Set(e => e.SetNnpack, value);
    }

    private static bool Get(Func<Exports, GetFn> getter)
    {
        var e = Bound.Value ?? throw new PlatformNotSupportedException("this libtorch build exports no backend switches");
        return getter(e)(e.Context());
    }

    private static void Set(Func<Exports, SetFn> setter, bool value)
    {
        var e = Bound.Value ?? throw new PlatformNotSupportedException("this libtorch build exports no backend switches");
        setter(e)(e.Context(), value);
    }

    private static Exports? Bind()
    {
        // Any tensor makes TorchSharp load libtorch; then the already-loaded library is found by name.
        using (torch.zeros(1))
        {
        }
        foreach (var name in new[] { "torch_cpu", "libtorch_cpu.so" })
        {
            if (NativeLibrary.TryLoad(name, typeof(torch).Assembly, DllImportSearchPath.SafeDirectories | DllImportSearchPath.AssemblyDirectory, out var handle)
                || NativeLibrary.TryLoad(name, Assembly.GetExecutingAssembly(), null, out handle)
                || NativeLibrary.TryLoad(name, out handle))
            {
                if (Export<GlobalContextFn>(handle, "_ZN2at13globalContextEv") is { } context
                    && Export<GetFn>(handle, "_ZNK2at7Context17userEnabledMkldnnEv") is { } getOneDnn
                    && Export<SetFn>(handle, "_ZN2at7Context20setUserEnabledMkldnnEb") is { } setOneDnn
                    && Export<GetFn>(handle, "_ZNK2at7Context17userEnabledNNPACKEv") is { } getNnpack
                    && Export<SetFn>(handle, "_ZN2at7Context20setUserEnabledNNPACKEb") is { } setNnpack)
                {
                    return new Exports(context, getOneDnn, setOneDnn, getNnpack, setNnpack);
                }
            }
        }
        return null;
    }

    private static T? Export<T>(IntPtr handle, string symbol) where T : Delegate =>
        NativeLibrary.TryGetExport(handle, symbol, out var address) ? Marshal.GetDelegateForFunctionPointer<T>(address) : null;
}
