namespace KubeEmulator.Api;

/// <summary>The garbage collector's finalizers, as in metav1.</summary>
internal static class GcFinalizers
{
    public const string Foreground = "foregroundDeletion";
    public const string Orphan = "orphan";
}
