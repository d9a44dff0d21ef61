using System.Reflection;
using BiT.Contracts.Api;

namespace BiT.Contracts.Crds;

/// <summary>
/// Generates the CustomResourceDefinitions (apiextensions.k8s.io/v1) from the C# types: structural schemas with
/// the descriptions, required fields, enums, ranges, lengths and patterns of their <see cref="FieldAttribute"/>s,
/// CEL rules from <see cref="CelRuleAttribute"/> and <see cref="SpecCelRuleAttribute"/>, the status subresource,
/// printer columns, short names and categories. Deterministic: the same types give the same bytes.
/// </summary>
public static class CrdGenerator
{
    /// <summary>First lines of every generated file.</summary>
    public const string Header = "Generated from src/Contracts/Api by `bit-operator crds --output crds/`. Do not edit.";

    /// <summary>The job types a CRD is generated for.</summary>
    public static IReadOnlyList<Type> JobTypes { get; } = [typeof(BiTFineTuneJob), typeof(BiTPretrainJob)];

    /// <summary>One document per kind, in a fixed order.</summary>
    public static IReadOnlyList<CrdDocument> Generate() => [.. JobTypes.Select(Generate)];

    /// <summary>Writes every CRD into <paramref name="directory"/> (created if needed); returns the paths written.</summary>
    public static IReadOnlyList<string> WriteAll(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var paths = new List<string>();
        foreach (var crd in Generate())
        {
            var path = Path.Combine(directory, crd.FileName);
            File.WriteAllText(path, crd.Yaml);
            paths.Add(path);
        }

        return paths;
    }

    /// <summary>The CRD of one job type.</summary>
    public static CrdDocument Generate(Type jobType)
    {
        ArgumentNullException.ThrowIfNull(jobType);
        var resource = jobType.GetCustomAttribute<CustomResourceAttribute>()
            ?? throw new ArgumentException($"{jobType.Name} has no [CustomResource]", nameof(jobType));
        var name = $"{resource.Plural}.{ApiInfo.Group}";

        var spec = ObjectSchema(typeof(BiTJobSpec), null);
        var specRules = jobType.GetCustomAttributes<SpecCelRuleAttribute>().ToList();
        if (specRules.Count > 0)
        {
            var rules = (List<object?>)(spec["x-kubernetes-validations"] ??= new List<object?>());
            rules.AddRange(specRules.Select(r => Rule(r.Rule, r.Message, null)));
        }

        var root = new YamlMap
        {
            ["description"] = jobType.GetCustomAttribute<FieldAttribute>()?.Description,
            ["type"] = "object",
            ["required"] = new List<object?> { "spec" },
            ["properties"] = new YamlMap
            {
                ["apiVersion"] = new YamlMap { ["description"] = "APIVersion: " + ApiInfo.ApiVersion + ".", ["type"] = "string" },
                ["kind"] = new YamlMap { ["description"] = "Kind: " + resource.Kind + ".", ["type"] = "string" },
                // The only metadata a CRD schema may restrict: a name that leaves room for the names derived from it.
                ["metadata"] = new YamlMap
                {
                    ["type"] = "object",
                    ["properties"] = new YamlMap { ["name"] = new YamlMap { ["type"] = "string", ["maxLength"] = ObjectMeta.MaxNameLength } },
                },
                ["spec"] = spec,
                ["status"] = ObjectSchema(typeof(BiTJobStatus), "Observed state, written by the operator; progress, checkpoint and result by the trainer."),
            },
        };

        var columns = jobType.GetCustomAttributes<PrinterColumnAttribute>().OrderBy(c => c.Order).Select(c =>
        {
            var column = new YamlMap { ["name"] = c.Name, ["type"] = c.Type, ["jsonPath"] = c.JsonPath };
            if (c.Description is not null)
            {
                column["description"] = c.Description;
            }

            if (c.Priority != 0)
            {
                column["priority"] = c.Priority;
            }

            return (object?)column;
        }).ToList();

        var crd = new YamlMap
        {
            ["apiVersion"] = "apiextensions.k8s.io/v1",
            ["kind"] = "CustomResourceDefinition",
            ["metadata"] = new YamlMap { ["name"] = name },
            ["spec"] = new YamlMap
            {
                ["group"] = ApiInfo.Group,
                ["names"] = new YamlMap
                {
                    ["kind"] = resource.Kind,
                    ["listKind"] = resource.Kind + "List",
                    ["plural"] = resource.Plural,
                    ["singular"] = resource.Singular,
                    ["shortNames"] = new List<object?> { resource.ShortName },
                    ["categories"] = resource.Categories.Cast<object?>().ToList(),
                },
                ["scope"] = "Namespaced",
                ["versions"] = new List<object?>
                {
                    new YamlMap
                    {
                        ["name"] = ApiInfo.Version,
                        ["served"] = true,
                        ["storage"] = true,
                        ["subresources"] = new YamlMap { ["status"] = new YamlMap() },
                        ["additionalPrinterColumns"] = columns,
                        ["schema"] = new YamlMap { ["openAPIV3Schema"] = root },
                    },
                },
            },
        };
        return new CrdDocument(name, name + ".yaml", YamlTree.Write(crd, Header));
    }

    private static YamlMap ObjectSchema(Type type, string? description)
    {
        if (KubeTypeSchema.Handles(type))
        {
            return KubeTypeSchema.For(type, description);
        }

        var schema = new YamlMap
        {
            ["description"] = description ?? type.GetCustomAttribute<FieldAttribute>()?.Description,
            ["type"] = "object",
        };
        var properties = new YamlMap();
        var required = new List<object?>();
        foreach (var f in ApiFields.Of(type))
        {
            properties[f.Name] = PropertySchema(f);
            if (f.Required)
            {
                required.Add(f.Name);
            }
        }

        if (required.Count > 0)
        {
            schema["required"] = required;
        }

        schema["properties"] = properties;
        var rules = type.GetCustomAttributes<CelRuleAttribute>().Select(r => (object?)Rule(r.Rule, r.Message, r.FieldPath)).ToList();
        if (rules.Count > 0)
        {
            schema["x-kubernetes-validations"] = rules;
        }

        return schema["description"] is null ? Without(schema, "description") : schema;
    }

    private static YamlMap PropertySchema(ApiField f)
    {
        var attr = f.Field;
        var type = ApiFields.Unwrap(f.Type);
        YamlMap schema;
        if (ApiFields.ListElement(type) is { } element)
        {
            var items = ApiFields.IsObject(element) ? ObjectSchema(element, null) : ScalarSchema(ApiFields.Unwrap(element), attr, forItems: true);
            schema = new YamlMap { ["description"] = attr?.Description, ["type"] = "array", ["items"] = items };
            if (attr is { MinItems: >= 0 })
            {
                schema["minItems"] = attr.MinItems;
            }

            if (attr is { MaxItems: >= 0 })
            {
                schema["maxItems"] = attr.MaxItems;
            }

            if (attr?.ListMapKey is { } key)
            {
                schema["x-kubernetes-list-type"] = "map";
                schema["x-kubernetes-list-map-keys"] = new List<object?> { key };
            }
        }
        else if (ApiFields.IsStringMap(type))
        {
            var values = new YamlMap { ["type"] = "string" };
            if (attr is { ValueMaxLength: >= 0 })
            {
                values["maxLength"] = attr.ValueMaxLength;
            }

            if (attr?.ValuePattern is { } valuePattern)
            {
                values["pattern"] = valuePattern;
            }

            schema = new YamlMap
            {
                ["description"] = attr?.Description,
                ["type"] = "object",
                ["additionalProperties"] = values,
            };
            if (attr is { MaxItems: >= 0 })
            {
                schema["maxProperties"] = attr.MaxItems;
            }
        }
        else if (ApiFields.IsObject(type))
        {
            schema = ObjectSchema(type, attr?.Description);
        }
        else
        {
            schema = ScalarSchema(type, attr, forItems: false);
            schema = Prepend("description", attr?.Description, schema);
        }

        var rules = f.Property.GetCustomAttributes<CelRuleAttribute>().Select(r => (object?)Rule(r.Rule, r.Message, r.FieldPath)).ToList();
        if (rules.Count > 0)
        {
            schema["x-kubernetes-validations"] = rules;
        }

        if (schema["description"] is null)
        {
            schema = Without(schema, "description");
        }

        return schema;
    }

    private static YamlMap ScalarSchema(Type type, FieldAttribute? attr, bool forItems)
    {
        var schema = new YamlMap();
        if (attr?.IntOrString == true)
        {
            schema["anyOf"] = new List<object?> { new YamlMap { ["type"] = "integer" }, new YamlMap { ["type"] = "string" } };
            schema["x-kubernetes-int-or-string"] = true;
        }
        else if (type == typeof(string))
        {
            schema["type"] = "string";
        }
        else if (type == typeof(int))
        {
            schema["type"] = "integer";
            schema["format"] = "int32";
        }
        else if (type == typeof(long))
        {
            schema["type"] = "integer";
            schema["format"] = "int64";
        }
        else if (type == typeof(double))
        {
            schema["type"] = "number";
        }
        else if (type == typeof(bool))
        {
            schema["type"] = "boolean";
        }
        else if (type.IsEnum)
        {
            schema["type"] = "string";
            schema["enum"] = Enum.GetNames(type).Cast<object?>().ToList();
            if (!forItems && type.GetCustomAttribute<FieldAttribute>() is { } enumDoc && attr is null)
            {
                schema = Prepend("description", enumDoc.Description, schema);
            }
        }
        else if (type == typeof(GoDuration))
        {
            schema["type"] = "string";
            schema["pattern"] = ApiPatterns.Duration;
        }
        else if (type == typeof(DateTimeOffset))
        {
            schema["type"] = "string";
            schema["format"] = "date-time";
        }
        else
        {
            throw new InvalidOperationException($"no schema for {type.Name}");
        }

        if (attr is null)
        {
            return schema;
        }

        if (attr.Format is { } format && !schema.ContainsKey("format"))
        {
            schema["format"] = format;
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(double))
        {
            if (!double.IsNaN(attr.Minimum))
            {
                schema["minimum"] = attr.Minimum;
                if (attr.ExclusiveMinimum)
                {
                    schema["exclusiveMinimum"] = true;
                }
            }

            if (!double.IsNaN(attr.Maximum))
            {
                schema["maximum"] = attr.Maximum;
            }
        }

        if (type == typeof(string) && !forItems)
        {
            if (attr.MinLength >= 0)
            {
                schema["minLength"] = attr.MinLength;
            }

            if (attr.MaxLength >= 0)
            {
                schema["maxLength"] = attr.MaxLength;
            }

            if (attr.Pattern is { } pattern)
            {
                schema["pattern"] = pattern;
            }
        }

        return schema;
    }

    private static YamlMap Rule(string rule, string message, string? fieldPath)
    {
        var map = new YamlMap { ["rule"] = rule, ["message"] = message };
        if (fieldPath is not null)
        {
            map["fieldPath"] = fieldPath;
        }

        return map;
    }

    private static YamlMap Prepend(string key, object? value, YamlMap map)
    {
        var result = new YamlMap { [key] = value };
        foreach (var (k, v) in map.Entries)
        {
            if (k != key)
            {
                result[k] = v;
            }
        }

        return result;
    }

    private static YamlMap Without(YamlMap map, string key)
    {
        var result = new YamlMap();
        foreach (var (k, v) in map.Entries.Where(e => e.Key != key))
        {
            result[k] = v;
        }

        return result;
    }
}
