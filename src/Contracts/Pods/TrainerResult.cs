using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Contracts.Api;

namespace BiT.Contracts.Pods;

/// <summary>
/// The trainer's result as data, on its way out of the pod. The trainer patches it into <c>status.result</c> and
/// also writes it as one JSON line (<c>{"top1":…,"top5":…,"modelPath":…,"steps":…}</c>), last on its standard output
/// and as its termination message; when the status patch did not arrive the operator reads that line back. The
/// "done: top-1 …" sentence before it is for people and nothing parses it.
/// </summary>
public static class TrainerResult
{
    /// <summary>The JSON line for <paramref name="result"/> after <paramref name="steps"/> steps.</summary>
    public static string ToMessage(ResultStatus result, int steps)
    {
        ArgumentNullException.ThrowIfNull(result);
        var line = JsonSerializer.SerializeToNode(result, BiTJson.Options)!.AsObject();
        line["steps"] = steps;
        return line.ToJsonString();
    }

    /// <summary>
    /// The result in a termination message or log tail: its last line that is a JSON object with <c>top1</c> or
    /// <c>modelPath</c>; null when there is none.
    /// </summary>
    public static ResultStatus? FromMessage(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return null;
        }

        foreach (var line in message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Reverse())
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            try
            {
                if (JsonNode.Parse(line) is JsonObject o && (o.ContainsKey("top1") || o.ContainsKey("modelPath")))
                {
                    return o.Deserialize<ResultStatus>(BiTJson.Options);
                }
            }
            catch (JsonException)
            {
                // Not the result line.
            }
        }

        return null;
    }
}
