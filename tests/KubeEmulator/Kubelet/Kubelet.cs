using KubeEmulator.Hosting;

namespace KubeEmulator;

/// <summary>The local kubelet: runs pods as local processes when <see cref="EmulatorOptions.RunPods"/> is set.</summary>
public sealed class Kubelet
{
    private readonly ApiServerCore _core;

    internal Kubelet(ApiServerCore core)
    {
        _core = core;
    }

    internal void Start(Uri apiAddress)
    {
        _ = apiAddress;
        _ = _core;
    }

    internal Task StopAllAsync(CancellationToken ct) => Task.CompletedTask;
}
