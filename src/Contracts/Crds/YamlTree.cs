using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace BiT.Contracts.Crds;

/// <summary>An insertion-ordered YAML mapping, so generated files keep the conventional key order.</summary>
internal sealed class YamlMap
{
    private readonly List<KeyValuePair<string, object?>> _entries = [];

    public IReadOnlyList<KeyValuePair<string, object?>> Entries => _entries;

    public object? this[string key]
    {
        get => _entries.FirstOrDefault(e => e.Key == key).Value;
        set
        {
            var i = _entries.FindIndex(e => e.Key == key);
            if (i >= 0)
            {
                _entries[i] = new(key, value);
            }
            else
            {
                _entries.Add(new(key, value));
            }
        }
    }

    public bool ContainsKey(string key) => _entries.Exists(e => e.Key == key);
}

/// <summary>Writes <see cref="YamlMap"/> trees as YAML, quoting every string that would otherwise read back as another type.</summary>
internal static partial class YamlTree
{
    public static string Write(object tree, string? headerComment = null)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        if (headerComment is not null)
        {
            foreach (var line in headerComment.Split('\n'))
            {
                text.Write("# ");
                text.Write(line);
                text.Write('\n');
            }
        }

        var settings = EmitterSettings.Default.WithBestIndent(2).WithBestWidth(int.MaxValue).WithIndentedSequences().WithNewLine("\n");
        var emitter = new Emitter(text, settings);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        Emit(emitter, tree);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void Emit(IEmitter emitter, object? value)
    {
        switch (value)
        {
            case null:
                emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                break;
            case YamlMap map:
                emitter.Emit(new MappingStart(null, null, isImplicit: true, map.Entries.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var (key, item) in map.Entries)
                {
                    EmitString(emitter, key);
                    Emit(emitter, item);
                }

                emitter.Emit(new MappingEnd());
                break;
            case string s:
                EmitString(emitter, s);
                break;
            case bool b:
                emitter.Emit(new Scalar(null, null, b ? "true" : "false", ScalarStyle.Plain, true, false));
                break;
            case int or long:
                emitter.Emit(new Scalar(null, null, Convert.ToString(value, CultureInfo.InvariantCulture)!, ScalarStyle.Plain, true, false));
                break;
            case double d:
                var text = d == Math.Floor(d) && Math.Abs(d) < 1e15
                    ? ((long)d).ToString(CultureInfo.InvariantCulture)
                    : d.ToString("R", CultureInfo.InvariantCulture);
                emitter.Emit(new Scalar(null, null, text, ScalarStyle.Plain, true, false));
                break;
            case System.Collections.IEnumerable items:
                var list = items.Cast<object?>().ToList();
                emitter.Emit(new SequenceStart(null, null, isImplicit: true, list.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in list)
                {
                    Emit(emitter, item);
                }

                emitter.Emit(new SequenceEnd());
                break;
            default:
                throw new InvalidOperationException($"cannot write a {value.GetType().Name} as YAML");
        }
    }

    private static void EmitString(IEmitter emitter, string s)
    {
        // The emitter knows YAML syntax, not the core schema: "true", "10", "null" or "" must be quoted by us.
        var style = s.Length == 0 || LooksTyped().IsMatch(s) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any;
        emitter.Emit(new Scalar(null, null, s, style, true, true));
    }

    [GeneratedRegex("^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|no|on|off|[-+]?[0-9][0-9_]*(\\.[0-9]*)?([eE][-+]?[0-9]+)?|[-+]?\\.[0-9]+([eE][-+]?[0-9]+)?|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)|0x[0-9a-fA-F]+|0o[0-7]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex LooksTyped();
}
