using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace BiT.Model.Native;

/// <summary>
/// libtorch's switch for its oneDNN (mkldnn) CPU kernels: <c>torch.backends.mkldnn.enabled</c> in Python, which
/// TorchSharp does not expose. Off, CPU convolutions run PyTorch's native kernels (im2col + BLAS) instead.
/// Read and written through libtorch_cpu's exported <c>at::globalContext()</c>,
/// <c>at::Context::userEnabledMkldnn()</c> and <c>at::Context::setUserEnabledMkldnn(bool)</c>.
/// </summary>
public static class OneDnn
{
    private const string GlobalContextSymbol = "_ZN2at13globalContextEv";
    private const string GetSymbol = "_ZNK2at7Context17userEnabledMkldnnEv";
    private const string SetSymbol = "_ZN2at7Context20setUserEnabledMkldnnEb";

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GlobalContextFn();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    [return: MarshalAs(UnmanagedType.U1)]
    private delegate bool GetFn(IntPtr context);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetFn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    private static readonly Lazy<(GlobalContextFn Context, GetFn Get, SetFn Set)?> Exports = new(Bind);

    /// <summary>Whether libtorch's oneDNN switch could be found in this build of libtorch.</summary>
    public static bool IsAvailable => Exports.Value is not null;

    /// <summary>libtorch's oneDNN switch (true unless turned off); throws when this libtorch has no such switch.</summary>
    public static bool Enabled
    {
        get
        {
            var e = Exports.Value ?? throw new PlatformNotSupportedException("this libtorch build exports no oneDNN switch");
            return e.Get(e.Context());
        }
        set
        {
            var e = Exports.Value ?? throw new PlatformNotSupportedException("this libtorch build exports no oneDNN switch");
            e.Set(e.Context(), value);
        }
    }

    private static (GlobalContextFn, GetFn, SetFn)? Bind()
    {
        // Any tensor makes TorchSharp load libtorch; then the already-loaded library is found by name.
        using (torch.zeros(1))
        {
        }
        foreach (var name in new[] { "torch_cpu", "libtorch_cpu.so", "libtorch_cpu" })
        {
            if (NativeLibrary.TryLoad(name, typeof(torch).Assembly, DllImportSearchPath.SafeDirectories | DllImportSearchPath.AssemblyDirectory, out var handle)
                || NativeLibrary.TryLoad(name, Assembly.GetExecutingAssembly(), null, out handle)
                || NativeLibrary.TryLoad(name, out handle))
            {
                if (NativeLibrary.TryGetExport(handle, GlobalContextSymbol, out var ctx)
                    && NativeLibrary.TryGetExport(handle, GetSymbol, out var get)
                    && NativeLibrary.TryGetExport(handle, SetSymbol, out var set))
                {
                    return (Marshal.GetDelegateForFunctionPointer<GlobalContextFn>(ctx),
                        Marshal.GetDelegateForFunctionPointer<GetFn>(get),
                        Marshal.GetDelegateForFunctionPointer<SetFn>(set));
                }
            }
        }
        return null;
    }
}
