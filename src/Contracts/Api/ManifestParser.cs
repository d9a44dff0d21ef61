using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace BiT.Contracts.Api;

/// <summary>
/// Reads job manifests (the same YAML <c>kubectl apply</c> takes) into the typed jobs, strictly: an unknown field,
/// a wrong type, a missing required field or an out-of-range value is a <see cref="ManifestException"/> listing
/// every problem with its field path. Never throws a raw YAML exception.
/// </summary>
public static class ManifestParser
{
    /// <summary>Longest manifest accepted; a job manifest is a few kilobytes.</summary>
    public const int MaxManifestChars = 1 << 20;

    /// <summary>Deepest nesting of lists and objects accepted; the schema itself is 6 levels deep.</summary>
    public const int MaxNestingDepth = 64;

    /// <summary>Parses one manifest (a single YAML document) into a <see cref="BiTFineTuneJob"/> or <see cref="BiTPretrainJob"/>.</summary>
    /// <exception cref="ManifestException">The manifest is not valid; <see cref="ManifestException.Errors"/> lists why.</exception>
    public static BiTJob Parse(string yaml) => Parse(yaml, source: null);

    /// <summary>Reads and parses a manifest file; errors name the file.</summary>
    /// <exception cref="ManifestException">Missing/unreadable file or an invalid manifest.</exception>
    public static BiTJob ParseFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxManifestChars * 4L)
            {
                throw new ManifestException([new FieldError("(file)", $"is {info.Length} bytes; a manifest is at most {MaxManifestChars} characters")], path);
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            throw new ManifestException([new FieldError("(file)", $"cannot read the manifest: {e.Message}")], path);
        }

        return Parse(text, path);
    }

    /// <summary>The validation rules alone, for jobs read from the API server (same as <see cref="SpecValidator.Validate"/>).</summary>
    public static IReadOnlyList<FieldError> Validate(BiTJob job) => SpecValidator.Validate(job);

    /// <summary>The spec rules alone for a kind (same as <see cref="SpecValidator.ValidateSpec"/>).</summary>
    public static IReadOnlyList<FieldError> Validate(string kind, BiTJobSpec spec) => SpecValidator.ValidateSpec(kind, spec);

    private static BiTJob Parse(string yaml, string? source)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        if (yaml.Length > MaxManifestChars)
        {
            throw new ManifestException([new FieldError("(manifest)", $"is {yaml.Length} characters; a manifest is at most {MaxManifestChars}")], source);
        }

        YamlNode root;
        try
        {
            CheckNesting(yaml, source);
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            var documents = stream.Documents.Where(d => !YamlBinder.IsNull(d.RootNode)).ToList();
            if (documents.Count != 1)
            {
                throw new ManifestException(
                    [new FieldError("(manifest)", documents.Count == 0 ? "is empty" : $"holds {documents.Count} YAML documents; give one job per manifest")],
                    source);
            }

            root = documents[0].RootNode;
        }
        catch (YamlException e)
        {
            var line = e.Start.Line > 0 ? (int?)e.Start.Line : null;
            var message = (e.InnerException?.Message ?? e.Message).Trim();
            throw new ManifestException([new FieldError("(yaml)", $"not valid YAML: {message}", line)], source);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Some malformed inputs (e.g. duplicate keys) surface from the representation model as these.
            throw new ManifestException([new FieldError("(yaml)", $"not valid YAML: {e.Message}")], source);
        }

        return Bind(root, source);
    }

    /// <summary>
    /// Walks the event stream (iteratively) before the representation model is built, because building it
    /// recurses once per nesting level: a manifest of 100,000 '[' would otherwise overflow the stack.
    /// </summary>
    private static void CheckNesting(string yaml, string? source)
    {
        var parser = new Parser(new StringReader(yaml));
        var depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case MappingStart or SequenceStart:
                    if (++depth > MaxNestingDepth)
                    {
                        var line = parser.Current.Start.Line > 0 ? (int?)parser.Current.Start.Line : null;
                        throw new ManifestException(
                            [new FieldError("(yaml)", $"nested more than {MaxNestingDepth} levels deep; a job manifest is not", line)], source);
                    }

                    break;
                case MappingEnd or SequenceEnd:
                    depth--;
                    break;
            }
        }
    }

    private static BiTJob Bind(YamlNode root, string? source)
    {
        if (root is not YamlMappingNode mapping)
        {
            throw new ManifestException([new FieldError("(manifest)", "expected an object with apiVersion, kind, metadata and spec")], source);
        }

        var errors = new List<FieldError>();
        var apiVersion = Scalar(mapping, "apiVersion");
        var kind = Scalar(mapping, "kind");
        if (apiVersion is null)
        {
            errors.Add(new FieldError("apiVersion", $"required ({ApiInfo.ApiVersion})"));
        }
        else if (apiVersion != ApiInfo.ApiVersion)
        {
            errors.Add(new FieldError("apiVersion", $"must be {ApiInfo.ApiVersion}, got '{apiVersion}'"));
        }

        Type type;
        switch (kind)
        {
            case ApiInfo.FineTuneKind:
                type = typeof(BiTFineTuneJob);
                break;
            case ApiInfo.PretrainKind:
                type = typeof(BiTPretrainJob);
                break;
            default:
                errors.Add(new FieldError("kind", kind is null
                    ? $"required ({ApiInfo.FineTuneKind} or {ApiInfo.PretrainKind})"
                    : $"must be {ApiInfo.FineTuneKind} or {ApiInfo.PretrainKind}, got '{kind}'"));
                throw new ManifestException(errors, source);
        }

        var binder = new YamlBinder();
        var job = (BiTJob?)binder.BindObject(root, type, "", skipKeys: new HashSet<string>(StringComparer.Ordinal) { "apiVersion", "kind" });
        errors.AddRange(binder.Errors);
        if (job is not null)
        {
            // Validation sees unbound fields as missing or zero; what the binder already reported is not repeated.
            errors.AddRange(SpecValidator.Validate(job)
                .Where(e => e.Path is not "apiVersion" and not "kind" && !binder.FailedPaths.Any(f => Covers(f, e.Path)))
                .Select(e => e with { Line = e.Line ?? binder.LineOf(e.Path) }));
        }

        if (errors.Count > 0)
        {
            throw new ManifestException(errors, source);
        }

        return job!;
    }

    private static bool Covers(string failed, string path) =>
        path == failed || path.StartsWith(failed + ".", StringComparison.Ordinal) || path.StartsWith(failed + "[", StringComparison.Ordinal)
        || failed.StartsWith(path + ".", StringComparison.Ordinal) || failed.StartsWith(path + "[", StringComparison.Ordinal);

    private static string? Scalar(YamlMappingNode mapping, string key) =>
        mapping.Children.FirstOrDefault(kv => kv.Key is YamlScalarNode { Value: { } k } && k == key).Value is YamlScalarNode { Value: { } v }
            ? v
            : null;
}
