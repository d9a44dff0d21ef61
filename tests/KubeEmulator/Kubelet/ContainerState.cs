using System.Text.Json.Nodes;
using KubeEmulator.Api;

namespace KubeEmulator.KubeletRuntime;

/// <summary>What the kubelet knows about one container, rendered into status.containerStatuses[].</summary>
internal sealed class ContainerState(string name, string image)
{
    public string Name { get; } = name;
    public string Image { get; } = image;
    public int RestartCount { get; set; }
    public int? Pid { get; set; }
    public JsonObject State { get; set; } = new() { ["waiting"] = new JsonObject { ["reason"] = "ContainerCreating" } };
    public JsonObject? LastState { get; set; }

    /// <summary>Exited and will not run again.</summary>
    public bool Done { get; set; }
    public int? ExitCode { get; set; }

    public bool Running => State.ContainsKey("running");

    public JsonObject ToStatus()
    {
        var s = new JsonObject
        {
            ["name"] = Name,
            ["state"] = State.DeepClone(),
            ["lastState"] = LastState?.DeepClone() ?? new JsonObject(),
            ["ready"] = Running,
            ["restartCount"] = RestartCount,
            ["image"] = Image,
            ["imageID"] = "local://" + Image,
            ["started"] = Running,
        };
        if (Pid is { } pid)
        {
            s["containerID"] = $"local://{pid}";
        }
        return s;
    }

    public static JsonObject Waiting(string reason, string? message = null)
    {
        var w = new JsonObject { ["reason"] = reason };
        if (message is not null)
        {
            w["message"] = message;
        }
        return new JsonObject { ["waiting"] = w };
    }

    public static JsonObject RunningSince(string startedAt) => new() { ["running"] = new JsonObject { ["startedAt"] = startedAt } };

    public static JsonObject Terminated(int exitCode, string reason, string? startedAt, string finishedAt, int? pid, string? message = null)
    {
        var t = new JsonObject { ["exitCode"] = exitCode, ["reason"] = reason };
        if (message is not null)
        {
            t["message"] = message;
        }
        if (exitCode > 128)
        {
            t["signal"] = exitCode - 128;
        }
        t["startedAt"] = startedAt;
        t["finishedAt"] = finishedAt;
        if (pid is { } p)
        {
            t["containerID"] = $"local://{p}";
        }
        return new JsonObject { ["terminated"] = t };
    }

    public static string? StartedAt(JsonObject state) => Json.Str(state, "running", "startedAt");
}
