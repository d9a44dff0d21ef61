using KubeEmulator.Rbac;

namespace KubeEmulator.Api;

/// <summary>Who is asking and the write options that apply to every verb (dryRun, fieldManager, force).</summary>
internal sealed record RequestOptions(UserInfo User, bool DryRun = false, string? FieldManager = null, bool Force = false, string? FieldValidation = null)
{
    /// <summary>Warnings for the client (sent as Warning: 299 headers), e.g. unknown fields under fieldValidation=Warn.</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>The client's User-Agent: without a fieldManager, updates are recorded under its product name, as the real server does.</summary>
    public string? UserAgent { get; init; }

    public static readonly RequestOptions System = new(UserInfo.System, FieldManager: "kube-emulator");
}

internal sealed record ListOptions(string? LabelSelector = null, string? FieldSelector = null, int? Limit = null, string? Continue = null);

internal sealed record DeleteOptions(long? GracePeriodSeconds = null, string? PropagationPolicy = null, string? PreconditionUid = null, string? PreconditionResourceVersion = null);

internal sealed record ListResult(IReadOnlyList<System.Text.Json.Nodes.JsonObject> Items, long Revision, string? Continue, long? RemainingItemCount)
{
    /// <summary>The stored objects themselves (read-only; same order as Items) when the list was made with raw: true.</summary>
    public IReadOnlyList<System.Text.Json.Nodes.JsonObject>? Stored { get; init; }
}
