using System.Text.RegularExpressions;
using BiT.Contracts.Crds;
using YamlDotNet.RepresentationModel;

namespace BiT.Contracts.Tests.Crds;

/// <summary>
/// A real kube-apiserver refuses a CRD whose CEL rules it estimates too costly ("estimated rule cost exceeds
/// budget": over 10^7 for one rule, or 10^8 for all of a CRD's rules). The estimate takes every string, list and map a rule
/// reads at its declared bound: <c>maxLength</c> (x4, bytes per rune), <c>maxItems</c>, <c>maxProperties</c>; without
/// one, as large as a whole 3 MiB request. Map keys cannot be bounded at all in a structural schema (today the estimator counts them 0 long, a quirk not to lean on). So: every value a
/// rule reads must be bounded, and no rule may sit on a map (nodeSelector's values are checked with an OpenAPI
/// <c>pattern</c> on additionalProperties, its keys by SpecValidator in the operator). See docs/reliability.md, "CEL cost".
/// </summary>
public sealed class CrdCelCostTests
{
    private static readonly Regex SelfPath = new(@"\b(?:self|oldSelf)((?:\.[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_]|\s*\())*)", RegexOptions.CultureInvariant);

    private static YamlMappingNode SchemaOf(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        return (YamlMappingNode)Get(Get(Get(Get(root, "spec")!, "versions") is YamlSequenceNode seq ? seq.Children[0] : throw new InvalidOperationException(), "schema")!, "openAPIV3Schema")!;
    }

    private static YamlNode? Get(YamlNode node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    private static string? Scalar(YamlNode node, string key) => (Get(node, key) as YamlScalarNode)?.Value;

    /// <summary>Every problem a real API server's cost estimator would have with the rules in this schema.</summary>
    public static List<string> Problems(YamlMappingNode schema)
    {
        var problems = new List<string>();
        Walk(schema, "openAPIV3Schema", problems);
        return problems;
    }

    private static void Walk(YamlMappingNode node, string path, List<string> problems)
    {
        if (Get(node, "x-kubernetes-validations") is YamlSequenceNode rules)
        {
            foreach (var rule in rules.Children.Select(r => Scalar(r, "rule")!))
            {
                if (Get(node, "additionalProperties") is YamlMappingNode)
                {
                    problems.Add($"{path}: the rule `{rule}` is on a map, whose keys no schema can bound; check keys in SpecValidator and values with additionalProperties.pattern/maxLength");
                    continue;
                }

                foreach (Match m in SelfPath.Matches(rule))
                {
                    var target = Resolve(node, m.Groups[1].Value);
                    if (target is null)
                    {
                        problems.Add($"{path}: the rule `{rule}` reads {m.Value}, which the schema does not declare");
                        continue;
                    }

                    foreach (var unbounded in Unbounded(target, path + m.Groups[1].Value))
                    {
                        problems.Add($"{path}: the rule `{rule}` reads {unbounded}, which has no maxLength/maxItems/maxProperties (the estimator then assumes a whole request)");
                    }
                }
            }
        }

        if (Get(node, "properties") is YamlMappingNode props)
        {
            foreach (var (k, v) in props.Children)
            {
                Walk((YamlMappingNode)v, $"{path}.{((YamlScalarNode)k).Value}", problems);
            }
        }

        if (Get(node, "items") is YamlMappingNode items)
        {
            Walk(items, path + "[]", problems);
        }

        if (Get(node, "additionalProperties") is YamlMappingNode values)
        {
            Walk(values, path + "{}", problems);
        }
    }

    private static YamlMappingNode? Resolve(YamlMappingNode node, string dotted)
    {
        foreach (var part in dotted.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Get(node, "properties") is not YamlMappingNode props || Get(props, part) is not YamlMappingNode next)
            {
                return null;
            }

            node = next;
        }

        return node;
    }

    private static IEnumerable<string> Unbounded(YamlMappingNode node, string path)
    {
        var type = Scalar(node, "type");
        var intOrString = Scalar(node, "x-kubernetes-int-or-string") == "true";
        if ((type == "string" || intOrString) && Get(node, "maxLength") is null && Get(node, "enum") is null
            && Scalar(node, "format") is not ("date" or "date-time" or "duration"))
        {
            yield return $"{path} (a string)";
        }

        if (type == "array" && Get(node, "maxItems") is null)
        {
            yield return $"{path} (a list)";
        }

        if (type == "object" && Get(node, "additionalProperties") is YamlMappingNode && Get(node, "maxProperties") is null)
        {
            yield return $"{path} (a map)";
        }

        var children = new List<(YamlMappingNode, string)>();
        if (Get(node, "properties") is YamlMappingNode props)
        {
            children.AddRange(props.Children.Select(p => ((YamlMappingNode)p.Value, $"{path}.{((YamlScalarNode)p.Key).Value}")));
        }

        if (Get(node, "items") is YamlMappingNode items)
        {
            children.Add((items, path + "[]"));
        }

        if (Get(node, "additionalProperties") is YamlMappingNode values)
        {
            children.Add((values, path + "{}"));
        }

        foreach (var (child, childPath) in children)
        {
            foreach (var u in Unbounded(child, childPath))
            {
                yield return u;
            }
        }
    }

    [Fact]
    public void Every_rule_in_the_generated_crds_reads_only_bounded_values()
    {
        var problems = CrdGenerator.Generate().SelectMany(c => Problems(SchemaOf(c.Yaml)).Select(p => $"{c.FileName}: {p}")).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_rule_in_crds_directory_reads_only_bounded_values()
    {
        var files = Directory.GetFiles(Path.Combine(RepoPaths.Root, "crds"), "*.yaml");
        Assert.NotEmpty(files);
        var problems = files.SelectMany(f => Problems(SchemaOf(File.ReadAllText(f))).Select(p => $"{Path.GetFileName(f)}: {p}")).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Node_selector_values_are_bounded_by_the_schema_and_carry_no_cel_rule()
    {
        foreach (var crd in CrdGenerator.Generate())
        {
            var selector = Resolve(SchemaOf(crd.Yaml), "spec.resources.nodeSelector")!;
            Assert.Null(Get(selector, "x-kubernetes-validations"));
            Assert.Equal("64", Scalar(selector, "maxProperties"));
            var values = (YamlMappingNode)Get(selector, "additionalProperties")!;
            Assert.Equal("63", Scalar(values, "maxLength"));
            Assert.Equal(BiT.Contracts.Api.ApiPatterns.LabelValue, Scalar(values, "pattern"));
        }
    }

    /// <summary>The checker itself: the rules this project shipped before (a real API server's estimate: about
    /// 64 x 3 MiB x 0.1 x 12.5 = 2.5 x 10^8 for the value rule, over the 10^7 per-rule limit) and neighbours.</summary>
    [Theory]
    [InlineData("nodeSelector", "{type: object, maxProperties: 64, additionalProperties: {type: string}, x-kubernetes-validations: [{rule: \"self.all(k, self[k].size() <= 63 && self[k].matches('^[a-z]*$'))\"}]}", "on a map")]
    [InlineData("nodeSelector", "{type: object, maxProperties: 64, additionalProperties: {type: string, maxLength: 63}, x-kubernetes-validations: [{rule: \"self.all(k, k.matches('^[a-z]*$'))\"}]}", "on a map")]
    [InlineData("names", "{type: array, items: {type: string, maxLength: 10}, x-kubernetes-validations: [{rule: \"self.all(n, n.matches('^[a-z]*$'))\"}]}", "names (a list)")]
    [InlineData("names", "{type: array, maxItems: 8, items: {type: string}, x-kubernetes-validations: [{rule: \"self.all(n, n.matches('^[a-z]*$'))\"}]}", "names[] (a string)")]
    [InlineData("box", "{type: object, properties: {a: {type: string}, b: {type: integer}}, x-kubernetes-validations: [{rule: \"self.b > 0 || self.a.startsWith('x')\"}]}", "box.a (a string)")]
    [InlineData("box", "{type: object, properties: {a: {type: string}}, x-kubernetes-validations: [{rule: \"self.c == 1\"}]}", "does not declare")]
    public void The_checker_finds_unbounded_reads(string field, string fieldSchema, string expected)
    {
        var yaml = $$"""
            spec:
              versions:
                - schema:
                    openAPIV3Schema:
                      type: object
                      properties:
                        {{field}}: {{fieldSchema}}
            """;
        var problems = Problems(SchemaOf(yaml));
        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void The_checker_accepts_bounded_reads()
    {
        const string yaml = """
            spec:
              versions:
                - schema:
                    openAPIV3Schema:
                      type: object
                      properties:
                        names: {type: array, maxItems: 8, items: {type: string, maxLength: 10}, x-kubernetes-validations: [{rule: "self.all(n, n.matches('^[a-z]*$'))"}]}
                        box: {type: object, properties: {a: {type: string, enum: [x, y]}, b: {type: integer}}, x-kubernetes-validations: [{rule: "self.b > 0 || self.a.startsWith('x')"}]}
            """;
        Assert.Empty(Problems(SchemaOf(yaml)));
    }
}
