namespace KubeEmulator;

/// <summary>How the emulator runs: the local kubelet, where it keeps state, the clock, and how much watch history it keeps.</summary>
public sealed class EmulatorOptions
{
    /// <summary>Run pods as local processes (the emulator then also acts as scheduler and a single node).</summary>
    public bool RunPods { get; set; }

    /// <summary>Image name to local command line, e.g. "bit-trainer:dev" -> "/path/to/bit-trainer --flag". Quoting follows POSIX shell words.</summary>
    public IDictionary<string, string> ImageMap { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Where pod volumes (PVC host directories, emptyDirs, projected tokens) live; a temp dir when null.</summary>
    public string? StateDir { get; set; }

    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Events kept for watches from an old resourceVersion; older ones answer 410 Gone.</summary>
    public int WatchHistory { get; set; } = 10000;

    /// <summary>How often an idle watch with allowWatchBookmarks gets a BOOKMARK (the real server: about a minute).</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Name of the single node the kubelet plays.</summary>
    public string NodeName { get; set; } = "emulator-node";

    /// <summary>Faults in force from the start, in the /emulator/faults JSON form (see docs/emulator.md); the executable's --fault.</summary>
    public IList<System.Text.Json.Nodes.JsonObject> InitialFaults { get; } = [];

    /// <summary>First delay before restarting a failed container; doubles per restart (the real kubelet: 10s, capped at 5 minutes).</summary>
    public TimeSpan RestartBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxRestartBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Labels of the node beyond kubernetes.io/hostname, os and arch: pods whose nodeSelector they do not satisfy stay Pending (Unschedulable).</summary>
    public IDictionary<string, string> NodeLabels { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// The node's allocatable resources. A pod whose requests (limits where requests are missing) do not fit next to
    /// the running pods stays Pending (Insufficient ...) until room frees up. Generous by default.
    /// </summary>
    public IDictionary<string, string> NodeCapacity { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["cpu"] = "1000",
        ["memory"] = "4Ti",
        ["pods"] = "1000",
        ["nvidia.com/gpu"] = "64",
    };

    /// <summary>After LoseNodeAsync: how long pods stay Unknown before they are deleted (the real pod-eviction timeout is minutes).</summary>
    public TimeSpan NodeLostDeletionDelay { get; set; } = TimeSpan.FromSeconds(1);
}
