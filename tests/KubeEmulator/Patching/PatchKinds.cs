namespace KubeEmulator.Patching;

internal enum PatchKind
{
    Unsupported,
    Merge,
    Json,
    StrategicMerge,
    Apply,
}

internal static class PatchKinds
{
    public static PatchKind FromContentType(string? contentType)
    {
        var ct = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        return ct switch
        {
            "application/merge-patch+json" => PatchKind.Merge,
            "application/json-patch+json" => PatchKind.Json,
            "application/strategic-merge-patch+json" => PatchKind.StrategicMerge,
            "application/apply-patch+yaml" or "application/apply-patch+json" or "application/apply-patch+cbor" => PatchKind.Apply,
            _ => PatchKind.Unsupported,
        };
    }
}
