using Xunit;

namespace KubeEmulator;

/// <summary>
/// xunit fixture: one emulator per test class (IClassFixture) or collection, on a free port, with a temp state dir.
/// Lives in the KubeEmulator assembly (which references xunit.extensibility.core only for IAsyncLifetime), so a
/// test project gets it with one ProjectReference.
/// </summary>
public sealed class KubeEmulatorFixture : IAsyncLifetime
{
    private KubeEmulatorServer? _server;
    private string? _stateDir;

    public KubeEmulatorServer Server => _server ?? throw new InvalidOperationException("the emulator is not started yet (InitializeAsync has not run)");

    /// <summary>
    /// The server's options: the defaults (no kubelet) plus a temp StateDir. xunit initializes a fixture right after
    /// constructing it, so tests that need other options (RunPods, ImageMap, a fake clock) start their own server with
    /// <see cref="KubeEmulatorServer.StartAsync"/> in their IAsyncLifetime instead.
    /// </summary>
    public EmulatorOptions Options { get; } = new();

    public async Task InitializeAsync()
    {
        if (Options.StateDir is null)
        {
            _stateDir = Directory.CreateTempSubdirectory("kube-emulator-").FullName;
            Options.StateDir = _stateDir;
        }
        _server = await KubeEmulatorServer.StartAsync(Options);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        if (_stateDir is not null)
        {
            try
            {
                Directory.Delete(_stateDir, recursive: true);
            }
            catch (IOException)
            {
                // A process of a pod may still hold a file for a moment; the temp dir is harmless.
            }
        }
    }
}
