using System.Text.Json.Nodes;
using BiT.Chart.Tests.Support;

namespace BiT.Chart.Tests.Image;

/// <summary>
/// No container engine runs here, so the operator image's inputs are checked: the Dockerfile against the chart
/// (entry point, user, port), and the publish output, which must run and must not carry libtorch.
/// </summary>
public sealed class OperatorImageTests
{
    private static readonly string DockerfilePath = Path.Combine(Repo.Root, "src", "Operator", "Dockerfile");

    private static List<string> Instructions() => [.. File.ReadAllLines(DockerfilePath)
        .Select(l => l.Trim())
        .Where(l => l.Length > 0 && !l.StartsWith('#'))];

    private static List<string> RuntimeStage()
    {
        var lines = Instructions();
        var last = lines.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.Ordinal));
        return lines[last..];
    }

    [Fact]
    public void The_dockerfile_is_multi_stage_on_a_chiseled_runtime_and_copies_only_what_exists()
    {
        var lines = Instructions();
        var froms = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, froms.Count);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build", froms[0], StringComparison.Ordinal);
        Assert.Matches(@"^FROM mcr\.microsoft\.com/dotnet/aspnet:10\.0-[a-z]+-chiseled AS runtime$", froms[1]);
        Assert.Contains(lines, l => l.StartsWith("RUN dotnet publish src/Operator/BiT.Operator.csproj -c Release", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("src/Model", StringComparison.Ordinal) || l.Contains("TrainerImage", StringComparison.Ordinal));

        foreach (var line in lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal)))
        {
            foreach (var source in line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1])
            {
                var path = Path.Combine(Repo.Root, source.TrimEnd('/'));
                Assert.True(File.Exists(path) || Directory.Exists(path), $"{line}: {source} is not in the repository");
            }
        }

        // Everything the operator project references is copied into the build stage.
        var csproj = File.ReadAllText(Path.Combine(Repo.Root, "src", "Operator", "BiT.Operator.csproj"));
        foreach (var reference in System.Text.RegularExpressions.Regex.Matches(csproj, @"ProjectReference Include=""\.\./(\w+)/").Select(m => m.Groups[1].Value))
        {
            Assert.Contains($"COPY src/{reference}/ src/{reference}/", lines);
        }
    }

    [Fact]
    public async Task The_entry_point_user_and_port_agree_with_the_chart()
    {
        var runtime = RuntimeStage();
        Assert.Equal("ENTRYPOINT [\"/app/bit-operator\"]", Assert.Single(runtime, l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal)));
        var user = Assert.Single(runtime, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.True(runtime.IndexOf(user) > runtime.FindIndex(l => l.StartsWith("COPY", StringComparison.Ordinal)), "USER after the files are in place");
        var uid = long.Parse(user["USER ".Length..].Split(':')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(0, uid);

        var docs = await HelmChart.TemplateAsync();
        var pod = docs.Single("Deployment")["spec"]!["template"]!["spec"]!;
        Assert.Equal(uid, (long)pod["securityContext"]!["runAsUser"]!);
        Assert.True((bool)pod["securityContext"]!["runAsNonRoot"]!);
        var container = pod["containers"]![0]!;
        Assert.Null(container["command"]);
        Assert.Equal("run", (string?)container["args"]![0]);
        var port = (long)container["ports"]![0]!["containerPort"]!;
        Assert.Contains($"EXPOSE {port}", runtime);
        Assert.True((bool)container["securityContext"]!["readOnlyRootFilesystem"]!);
        Assert.Contains("ENV DOTNET_EnableDiagnostics=0", runtime);
    }

    [Fact]
    public async Task The_publish_output_runs_the_entry_point_and_carries_no_libtorch()
    {
        var dir = Directory.CreateTempSubdirectory("bit-operator-publish-").FullName;
        try
        {
            var publish = new Tool("dotnet");
            (await publish.RunAsync(["publish", Path.Combine("src", "Operator", "BiT.Operator.csproj"), "--no-build", "-c", Repo.Configuration, "-o", dir], timeoutSeconds: 300)).Ok();
            var entry = Path.Combine(dir, "bit-operator");
            Assert.True(File.Exists(entry), "the publish output has no bit-operator apphost, which the ENTRYPOINT names");
            Assert.DoesNotContain(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories), f => Path.GetFileName(f).Contains("torch", StringComparison.OrdinalIgnoreCase));

            var runtimeConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "bit-operator.runtimeconfig.json")))!;
            var frameworks = runtimeConfig["runtimeOptions"]!["frameworks"]!.AsArray().Select(f => (string)f!["name"]!).ToList();
            Assert.All(frameworks, f => Assert.Contains(f, new[] { "Microsoft.NETCore.App", "Microsoft.AspNetCore.App" }));
            Assert.True((bool)runtimeConfig["runtimeOptions"]!["configProperties"]!["System.Globalization.Invariant"]!, "the chiseled image has no ICU");

            // The published entry point writes the CRDs the chart ships: it loads and runs.
            var output = Path.Combine(dir, "crds-out");
            (await new Tool(entry).RunAsync("crds", "--output", output)).Ok();
            foreach (var crd in Directory.EnumerateFiles(Path.Combine(Repo.Chart, "crds")))
            {
                Assert.Equal(File.ReadAllText(crd), File.ReadAllText(Path.Combine(output, Path.GetFileName(crd))));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
