using System.Text.Json.Nodes;

namespace KubeEmulator.Http;

/// <summary>/version: the Kubernetes version whose API the emulator follows.</summary>
internal static class VersionInfo
{
    public const string Major = "1";
    public const string Minor = "32";

    public static JsonObject Document() => new()
    {
        ["major"] = Major,
        ["minor"] = Minor,
        ["gitVersion"] = $"v{Major}.{Minor}.0-kube-emulator",
        ["gitCommit"] = "0000000000000000000000000000000000000000",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2025-01-01T00:00:00Z",
        ["goVersion"] = "go1.23",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };
}
