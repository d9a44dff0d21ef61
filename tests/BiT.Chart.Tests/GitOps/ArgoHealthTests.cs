using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BiT.Chart.Tests.Support;

namespace BiT.Chart.Tests.GitOps;

/// <summary>
/// The Argo CD health check (charts/bit-operator/files/argocd/health.lua) run by Debian's lua5.1, as Argo CD's
/// gopher-lua runs it: the object as the global <c>obj</c>, the script's returned table read back.
/// </summary>
public sealed class ArgoHealthTests
{
    internal static readonly string Script = Path.Combine(Repo.Chart, "files", "argocd", "health.lua");

    private static readonly string Statuses = Path.Combine(Repo.Root, "tests", "BiT.Chart.Tests", "GitOps", "statuses");

    /// <summary>A JSON value as a Lua 5.1 literal (objects and arrays become tables; arrays 1-based, as Argo CD builds them).</summary>
    internal static string ToLua(JsonNode? node) => node switch
    {
        null => "nil",
        JsonObject o => "{" + string.Join(",", o.Select(kv => $"[{Quote(kv.Key)}]={ToLua(kv.Value)}")) + "}",
        JsonArray a => "{" + string.Join(",", a.Select(ToLua)) + "}",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => Quote(v.GetValue<string>()),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>() ? "true" : "false",
        JsonValue v => v.GetValue<double>().ToString("R", CultureInfo.InvariantCulture),
        _ => throw new ArgumentException($"not JSON: {node.GetType()}", nameof(node)),
    };

    private static string Quote(string s)
    {
        var b = new StringBuilder("\"");
        foreach (var c in s)
        {
            b.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                '\r' => "\\r",
                _ => c.ToString(),
            });
        }

        return b.Append('"').ToString();
    }

    /// <summary>Runs the health check on one object; returns (status, message).</summary>
    internal static async Task<(string Status, string Message)> HealthAsync(JsonNode obj)
    {
        var dir = Directory.CreateTempSubdirectory("bit-lua-").FullName;
        try
        {
            var runner = Path.Combine(dir, "run.lua");
            await File.WriteAllTextAsync(runner,
                $"obj = {ToLua(obj)}\n" +
                $"local check = assert(loadfile({Quote(Script)}))\n" +
                "local hs = check()\n" +
                "io.write(hs.status, \"\\n\", hs.message or \"\", \"\\n\")\n");
            var result = (await Tool.Lua.RunAsync(runner)).Ok();
            var lines = result.Stdout.Split('\n');
            return (lines[0], lines[1]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public static TheoryData<string> Recorded() => [.. Directory.EnumerateFiles(Statuses, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Recorded))]
    public async Task The_health_check_reads_a_recorded_status_as_argo_cd_would(string name)
    {
        var fixture = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Statuses, name + ".json")))!;
        var (status, message) = await HealthAsync(fixture["object"]!);
        Assert.Equal((string)fixture["expect"]!["status"]!, status);
        Assert.Equal((string)fixture["expect"]!["message"]!, message);
    }

    private static readonly string OperatorRecorded = Path.Combine(Statuses, "recorded");

    /// <summary>The statuses the operator wrote (RecordedStatusTests in tests/BiT.Operator.Tests records them), by file.</summary>
    public static TheoryData<string> FromTheOperator() => [.. Directory.EnumerateFiles(OperatorRecorded, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(FromTheOperator))]
    public async Task The_health_check_reads_each_status_the_operator_recorded_for_both_kinds(string name)
    {
        var recording = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(OperatorRecorded, name + ".json")))!;
        var state = (string)recording["state"]!;
        var obj = recording["object"]!;
        var expected = state switch
        {
            "pending" or "running" or "restarting" => "Progressing",
            "succeeded" => "Healthy",
            "failed" or "invalid-spec" or "stalled" => "Degraded",
            "suspended" => "Suspended",
            _ => throw new InvalidOperationException($"{name}: no expectation for state '{state}'"),
        };
        var (status, message) = await HealthAsync(obj);
        Assert.True(expected == status, $"{name}: {status} ({message})");
        Assert.False(string.IsNullOrWhiteSpace(message), $"{name}: no message");
        switch (state)
        {
            case "succeeded":
                Assert.Equal("Succeeded: top-1 91.2 %", message);
                break;
            case "running":
                Assert.StartsWith("Running: step 5 of ", message, StringComparison.Ordinal);
                break;
            case "invalid-spec":
                Assert.Contains("spec.dataset.numClasses", message, StringComparison.Ordinal);
                break;
            default:
                break;
        }
    }

    [Fact]
    public void The_operators_recordings_cover_both_kinds_in_every_state()
    {
        var names = Directory.EnumerateFiles(OperatorRecorded, "*.json").Select(Path.GetFileNameWithoutExtension).ToHashSet(StringComparer.Ordinal);
        foreach (var kind in new[] { "finetune", "pretrain" })
        {
            foreach (var state in new[] { "pending", "running", "restarting", "stalled", "succeeded", "failed", "suspended", "invalid-spec" })
            {
                Assert.Contains($"{kind}-{state}", names);
            }
        }

        Assert.All(Directory.EnumerateFiles(OperatorRecorded, "pretrain-*.json"),
            f => Assert.Equal("BiTPretrainJob", (string)JsonNode.Parse(File.ReadAllText(f))!["object"]!["kind"]!));
    }

    [Fact]
    public void The_recorded_statuses_cover_every_health_argo_cd_shows_for_a_job()
    {
        var statuses = Directory.EnumerateFiles(Statuses, "*.json")
            .Select(f => (string)JsonNode.Parse(File.ReadAllText(f))!["expect"]!["status"]!)
            .ToHashSet(StringComparer.Ordinal);
        Assert.Equal(["Degraded", "Healthy", "Progressing", "Suspended"], statuses.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_script_is_valid_lua_5_1()
    {
        // luac -p would do, but Debian's lua5.1 package ships the interpreter only: loadfile compiles without running.
        var result = (await Tool.Lua.RunAsync("-e", $"assert(loadfile({Quote(Script)}))")).Ok();
        Assert.Equal("", result.Stderr);
    }
}
