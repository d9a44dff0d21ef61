using static TorchSharp.torch;

namespace BiT.Model.Tests.TestSupport;

/// <summary>Builds tensors on libtorch's meta device (shapes only, no memory) until disposed.</summary>
internal sealed class MetaDevice : IDisposable
{
    public MetaDevice() => set_default_device(META);

    public void Dispose() => set_default_device(CPU);
}
