using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace BiT.Chart.Tests.Support;

/// <summary>A multi-document YAML stream (helm template's output) as JSON objects, for assertions.</summary>
internal static class Manifests
{
    public static IReadOnlyList<JsonObject> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(d => ToJson(d.RootNode)).OfType<JsonObject>()];
    }

    public static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(ToJson)]),
        YamlScalarNode s => Scalar(s),
        _ => null,
    };

    private static JsonNode? Scalar(YamlScalarNode s)
    {
        var v = s.Value;
        if (s.Style is YamlDotNet.Core.ScalarStyle.Plain && v is not null)
        {
            if (v is "null" or "~" or "")
            {
                return null;
            }

            if (v is "true" or "false")
            {
                return JsonValue.Create(v == "true");
            }

            if (long.TryParse(v, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l))
            {
                return JsonValue.Create(l);
            }

            if (double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d))
            {
                return JsonValue.Create(d);
            }
        }

        return JsonValue.Create(v);
    }

    public static JsonObject Single(this IReadOnlyList<JsonObject> docs, string kind, string? nameEndsWith = null) =>
        Assert.Single(docs, d => (string?)d["kind"] == kind && (nameEndsWith is null || ((string?)d["metadata"]?["name"])?.EndsWith(nameEndsWith, StringComparison.Ordinal) == true));

    public static IEnumerable<string> Kinds(this IReadOnlyList<JsonObject> docs) => docs.Select(d => (string)d["kind"]!);
}

/// <summary>helm template of the chart with a release name and --set values.</summary>
internal static class HelmChart
{
    public static async Task<string> TemplateTextAsync(string release, params string[] sets)
    {
        var args = new List<string> { "template", release, Repo.Chart, "--namespace", "bit-system" };
        foreach (var s in sets)
        {
            args.Add("--set");
            args.Add(s);
        }

        return (await Tool.Helm.RunAsync(args)).Ok().Stdout;
    }

    public static async Task<IReadOnlyList<JsonObject>> TemplateAsync(params string[] sets) =>
        Manifests.Parse(await TemplateTextAsync("bit-operator", sets));
}
