using System.Globalization;
using System.Text.Json.Nodes;
using KubeEmulator.Api;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace KubeEmulator.Patching;

/// <summary>YAML to JsonNode with Kubernetes' (YAML 1.1-ish, sigs.k8s.io/yaml) scalar typing for plain scalars.</summary>
internal static class YamlJson
{
    public static JsonNode? Parse(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw ApiException.BadRequest($"error converting YAML to JSON: {e.Message}");
        }
        // Round-trip so every value is backed like parsed JSON (uniform numeric access downstream).
        return stream.Documents.Count == 0 ? null : Convert(stream.Documents[0].RootNode) is { } n ? JsonNode.Parse(n.ToJsonString()) : null;
    }

    private static JsonNode? Convert(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var o = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    o[((YamlScalarNode)k).Value ?? ""] = Convert(v);
                }
                return o;
            case YamlSequenceNode seq:
                return new JsonArray(seq.Children.Select(Convert).ToArray());
            case YamlScalarNode s:
                var value = s.Value ?? "";
                if (s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
                {
                    return JsonValue.Create(value);
                }
                switch (value)
                {
                    case "" or "~" or "null" or "Null" or "NULL":
                        return null;
                    case "true" or "True" or "TRUE":
                        return JsonValue.Create(true);
                    case "false" or "False" or "FALSE":
                        return JsonValue.Create(false);
                }
                if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                {
                    return JsonValue.Create(l);
                }
                if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && value.Any(char.IsDigit))
                {
                    return JsonValue.Create(d);
                }
                return JsonValue.Create(value);
            default:
                return null;
        }
    }
}
