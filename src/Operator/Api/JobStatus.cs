using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace BiT.Operator.Api;

/// <summary>A metav1.Condition.</summary>
public sealed record JobCondition(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("lastTransitionTime")] string LastTransitionTime,
    [property: JsonPropertyName("observedGeneration")] long ObservedGeneration);

/// <summary>One entry of the bounded restart history.</summary>
public sealed record RestartRecord(
    [property: JsonPropertyName("time")] string Time,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("exitCode"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? ExitCode,
    [property: JsonPropertyName("resumedFromStep")] long ResumedFromStep);

/// <summary>
/// The status as the operator reads and writes it. The operator owns every field except <c>progress</c> and
/// <c>checkpoint</c>, which the trainer reports through the status subresource; <c>result</c> is the trainer's when
/// it wrote one, else the operator fills it from the pod's termination message.
/// </summary>
public sealed record JobStatus
{
    /// <summary>The fields this operator writes (a merge patch of only these leaves the trainer's fields alone).</summary>
    public static IReadOnlyList<string> OwnedFields { get; } =
    [
        "phase", "observedGeneration", "conditions", "hyperparameters", "planHash", "restarts", "restartHistory", "podName",
        "startTime", "completionTime", "result",
    ];

    public const int MaxHistory = 10;

    public string? Phase { get; init; }

    public long? ObservedGeneration { get; init; }

    public IReadOnlyList<JobCondition> Conditions { get; init; } = [];

    public JsonNode? Hyperparameters { get; init; }

    public string? PlanHash { get; init; }

    public int Restarts { get; init; }

    public IReadOnlyList<RestartRecord> RestartHistory { get; init; } = [];

    public string? PodName { get; init; }

    public string? StartTime { get; init; }

    public string? CompletionTime { get; init; }

    public JsonNode? Result { get; init; }

    // Reported by the trainer; read only.
    public long? ProgressStep { get; init; }

    public long? TotalSteps { get; init; }

    public double? ImagesPerSecond { get; init; }

    public DateTimeOffset? LastProgressTime { get; init; }

    public long? CheckpointStep { get; init; }

    public JobCondition? Condition(string type) => Conditions.FirstOrDefault(c => c.Type == type);

    public bool IsTrue(string type) => Condition(type)?.Status == "True";

    public static string FormatTime(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset? ParseTime(string? s) =>
        DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;

    public static JobStatus Parse(JsonElement? status)
    {
        if (status is not { ValueKind: JsonValueKind.Object } s)
        {
            return new JobStatus();
        }

        var node = JsonNode.Parse(s.GetRawText())!.AsObject();
        var progress = node["progress"] as JsonObject;
        var checkpoint = node["checkpoint"] as JsonObject;
        return new JobStatus
        {
            Phase = Str(node["phase"]),
            ObservedGeneration = Long(node["observedGeneration"]),
            Conditions = Deserialize<List<JobCondition>>(node["conditions"]) ?? [],
            Hyperparameters = node["hyperparameters"]?.DeepClone(),
            PlanHash = Str(node["planHash"]),
            Restarts = (int)(Long(node["restarts"]) ?? 0),
            RestartHistory = Deserialize<List<RestartRecord>>(node["restartHistory"]) ?? [],
            PodName = Str(node["podName"]),
            StartTime = Str(node["startTime"]),
            CompletionTime = Str(node["completionTime"]),
            Result = node["result"]?.DeepClone(),
            ProgressStep = Long(progress?["step"]),
            TotalSteps = Long(progress?["totalSteps"]),
            ImagesPerSecond = Double(progress?["imagesPerSecond"]),
            LastProgressTime = ParseTime(Str(progress?["lastProgressTime"])),
            CheckpointStep = Long(checkpoint?["step"]),
        };
    }

    /// <summary>The owned fields as JSON; absent ones are left out.</summary>
    public JsonObject ToOwnedJson()
    {
        var o = new JsonObject();
        Put(o, "phase", Phase);
        Put(o, "observedGeneration", ObservedGeneration);
        if (Conditions.Count > 0)
        {
            o["conditions"] = JsonSerializer.SerializeToNode(Conditions);
        }

        if (Hyperparameters is not null)
        {
            o["hyperparameters"] = Hyperparameters.DeepClone();
        }

        Put(o, "planHash", PlanHash);
        o["restarts"] = Restarts;
        if (RestartHistory.Count > 0)
        {
            o["restartHistory"] = JsonSerializer.SerializeToNode(RestartHistory);
        }

        Put(o, "podName", PodName);
        Put(o, "startTime", StartTime);
        Put(o, "completionTime", CompletionTime);
        if (Result is not null)
        {
            o["result"] = Result.DeepClone();
        }

        return o;
    }

    /// <summary>
    /// The merge patch turning <paramref name="old"/>'s owned fields into this one's, or null when they are equal
    /// (so that a reconcile with nothing to do writes nothing).
    /// </summary>
    public JsonObject? MergePatchFrom(JobStatus old)
    {
        var now = ToOwnedJson();
        var before = old.ToOwnedJson();
        var patch = new JsonObject();
        foreach (var field in OwnedFields)
        {
            var a = before[field];
            var b = now[field];
            if (JsonNode.DeepEquals(a, b))
            {
                continue;
            }

            patch[field] = b?.DeepClone();
        }

        return patch.Count == 0 ? null : patch;
    }

    private static void Put(JsonObject o, string name, string? value)
    {
        if (value is not null)
        {
            o[name] = value;
        }
    }

    private static void Put(JsonObject o, string name, long? value)
    {
        if (value is not null)
        {
            o[name] = value.Value;
        }
    }

    private static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static long? Long(JsonNode? n)
    {
        if (n is not JsonValue v)
        {
            return null;
        }

        if (v.TryGetValue<long>(out var l))
        {
            return l;
        }

        return v.TryGetValue<double>(out var d) ? (long)d : null;
    }

    private static double? Double(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    private static T? Deserialize<T>(JsonNode? n) where T : class
    {
        try
        {
            return n?.Deserialize<T>();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
