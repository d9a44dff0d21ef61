using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using BiT.Contracts;
using k8s;
using k8s.Models;

namespace BiT.Operator.Api;

/// <summary>
/// Either job kind as the operator reads it from the API: metadata, the raw spec (parsed by
/// <see cref="JobSettingsReader"/> and the contracts) and the raw status (read as the contracts' <c>BiTJobStatus</c>).
/// Kept raw so that fields the operator does not own (the trainer's progress) pass through untouched.
/// </summary>
/// <remarks>
/// Thousands of these live in the informer cache, so the spec and status are held as their compact UTF-8 JSON only
/// (about half of what a parsed <see cref="JsonDocument"/> keeps: its token table is as large as the text) and parsed
/// again when read. Each read returns an element of its own; a reconcile reads them a handful of times.
/// </remarks>
public sealed class JobObject : IKubernetesObject<V1ObjectMeta>
{
    private byte[]? _spec;
    private byte[]? _status;

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = ApiInfo.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = JobKind.FineTune.Kind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public JsonElement Spec
    {
        get => _spec is null ? default : Parse(_spec);
        set
        {
            _spec = Bytes(value);
            FromPretrainJob = JobSettingsReader.FromPretrainJob(value);
        }
    }

    [JsonPropertyName("status")]
    public JsonElement? Status
    {
        get => _status is null ? null : Parse(_status);
        set
        {
            _status = value is { } v ? Bytes(v) : null;
            _summary = null;
        }
    }

    private JobSummary? _summary;

    /// <summary>
    /// What the per-job metrics read of the status, parsed once per status (every scrape reads it for every cached
    /// job; parsing 5,000 statuses per scrape would allocate tens of MiB).
    /// </summary>
    [JsonIgnore]
    public JobSummary Summary => _summary ??= JobSummary.Of(BiT.Contracts.Api.BiTJobStatus.FromJson(Status));

    /// <summary><c>spec.model.weights.fromPretrainJob.name</c>, read once when the spec is set (looked up for every cached
    /// fine-tune job whenever a pre-train job changes).</summary>
    [JsonIgnore]
    public string? FromPretrainJob { get; private set; }

    /// <summary>The spec as the API sent it (compact UTF-8 JSON), for reading it without an intermediate document.</summary>
    [JsonIgnore]
    internal ReadOnlyMemory<byte> SpecUtf8 => _spec;

    /// <summary>Bytes the spec and status take as JSON (the benchmark weighs the cache).</summary>
    [JsonIgnore]
    internal int RawBytes => (_spec?.Length ?? 0) + (_status?.Length ?? 0);

    private static byte[]? Bytes(JsonElement value) =>
        value.ValueKind == JsonValueKind.Undefined ? null : JsonMarshal.GetRawUtf8Value(value).ToArray();

    private static JsonElement Parse(byte[] utf8) => JsonElement.Parse(utf8);
}

/// <summary>The few status values the per-job metrics report.</summary>
public sealed record JobSummary(
    BiT.Contracts.Api.JobPhase Phase,
    double ProgressRatio,
    DateTimeOffset? LastProgressTime,
    double ImagesPerSecond,
    bool Stalled,
    double? Top1 = null)
{
    public static JobSummary Of(BiT.Contracts.Api.BiTJobStatus status) => new(
        status.Phase ?? BiT.Contracts.Api.JobPhase.Pending,
        status.Progress is { TotalSteps: > 0 } p ? (double)p.Step / p.TotalSteps : 0,
        status.Progress?.LastProgressTime,
        status.Progress?.ImagesPerSecond ?? 0,
        // A failed job's Stalled is True too (kstatus reads it); the stalled gauge is for jobs still meant to run.
        status.Phase != BiT.Contracts.Api.JobPhase.Failed && status.IsConditionTrue(BiT.Contracts.Api.ConditionTypes.Stalled),
        status.Result?.Top1);
}
