using BiT.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Trainer.Training;

/// <summary>
/// Which library sums this rank's gradients, and why: NCCL on the device when the gradients live on a CUDA device
/// and <c>libnccl.so.2</c> loads, else Gloo on the CPU (the gradients copied to host memory and back). On a CPU run
/// NCCL is never loaded.
/// </summary>
public sealed record GradientEngine(Nccl? Nccl, string Description)
{
    /// <summary>The production loader: <see cref="Nccl.TryLoad"/> on the loader's path.</summary>
    public static (Nccl? Nccl, string Reason) LoadNccl() => (Nccl.TryLoad(out var reason), reason);

    public static GradientEngine Choose(DeviceType device, Func<(Nccl? Nccl, string Reason)> loadNccl)
    {
        ArgumentNullException.ThrowIfNull(loadNccl);
        if (device != DeviceType.CUDA)
        {
            return new GradientEngine(null, "Gloo (the gradients are on the CPU)");
        }
        var (nccl, reason) = loadNccl();
        if (nccl is null)
        {
            return new GradientEngine(null, $"Gloo via host memory, not NCCL, although the gradients are on CUDA: {reason}");
        }
        var version = nccl.Version;
        return new GradientEngine(nccl, FormattableString.Invariant($"NCCL {version / 10000}.{version / 100 % 100}.{version % 100} on the GPU (gradients never leave the device)"));
    }
}
