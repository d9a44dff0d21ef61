using BiT.Contracts.Crds;

namespace BiT.Contracts.Api;

/// <summary>The network and where its initial weights come from.</summary>
[Field("The network and its initial weights. Immutable once the job exists.")]
[CelRule(
    "self.architecture == 'Custom' ? (has(self.blocks) && has(self.widthFactor)) : (!has(self.blocks) && !has(self.widthFactor))",
    "blocks and widthFactor are required with architecture Custom and not allowed otherwise")]
public sealed record ModelSpec
{
    /// <summary>R50x1 R50x3 R101x1 R101x3 R152x2 R152x4 (BiT-S-/BiT-M- prefix accepted) or Custom.</summary>
    [Field(
        "R50x1, R50x3, R101x1, R101x3, R152x2, R152x4 (BiT-S-/BiT-M- prefixes accepted) or Custom (with blocks and widthFactor).",
        Required = true, Pattern = ApiPatterns.Architecture, PatternHint = "one of R50x1, R50x3, R101x1, R101x3, R152x2, R152x4 (optionally BiT-S-/BiT-M-), Custom", MaxLength = 16)]
    public string Architecture { get; init; } = "";

    /// <summary>Custom only: bottleneck units in each of the four stages.</summary>
    [Field("Custom only: units per stage, four numbers (R50 = [3, 4, 6, 3]).", MinItems = 4, MaxItems = 4, Minimum = 1, Maximum = 64)]
    public IReadOnlyList<int>? Blocks { get; init; }

    /// <summary>Custom only: width factor; 64·w must be a multiple of 32 for GroupNorm(32).</summary>
    [Field("Custom only: width factor w (root 64·w channels, stages 256·w..2048·w); 64·w must be a multiple of 32, so w is a multiple of 0.5.",
        Minimum = 0, ExclusiveMinimum = true, Maximum = 16)]
    public double? WidthFactor { get; init; }

    /// <summary>Initial weights; null = random initialisation.</summary>
    [Field("Initial weights: exactly one of url, path, fromPretrainJob. Omitted = random initialisation (pre-training or a from-scratch baseline).")]
    public WeightsSpec? Weights { get; init; }
}

/// <summary>Exactly one weight source.</summary>
[Field("Exactly one of url, path or fromPretrainJob.")]
[CelRule("(has(self.url) ? 1 : 0) + (has(self.path) ? 1 : 0) + (has(self.fromPretrainJob) ? 1 : 0) == 1",
    "exactly one of url, path, fromPretrainJob must be set")]
[CelRule("!has(self.url) || has(self.sha256)", "sha256 is required with url")]
[CelRule("!has(self.sha256) || !has(self.fromPretrainJob)", "sha256 is not allowed with fromPretrainJob")]
public sealed record WeightsSpec
{
    /// <summary>Download URL of a BiT .npz checkpoint.</summary>
    [Field("http(s) URL of a .npz checkpoint in the published key layout (sha256 required).", Pattern = ApiPatterns.HttpUrl, PatternHint = "an http:// or https:// URL", MaxLength = 2048)]
    public string? Url { get; init; }

    /// <summary>SHA-256 of the file (required with url, optional with path).</summary>
    [Field("Lowercase hex SHA-256 of the file; required with url, checked with path when given.", Pattern = ApiPatterns.Sha256, PatternHint = "64 lowercase hex digits", MaxLength = 64)]
    public string? Sha256 { get; init; }

    /// <summary>A local (or mounted) .npz path.</summary>
    [Field("Path of a .npz checkpoint; relative paths resolve against the manifest's folder.", MinLength = 1, MaxLength = 4096)]
    public string? Path { get; init; }

    /// <summary>The output of a BiTPretrainJob in the same namespace.</summary>
    [Field("Use the final model of a BiTPretrainJob in the same namespace; the job waits for it to succeed.")]
    public PretrainJobReference? FromPretrainJob { get; init; }
}

/// <summary>Names a BiTPretrainJob.</summary>
[Field("A BiTPretrainJob in the same namespace.")]
public sealed record PretrainJobReference
{
    /// <summary>Its name.</summary>
    [Field("Name of the BiTPretrainJob.", Required = true, Pattern = ApiPatterns.DnsSubdomain, PatternHint = "a DNS-1123 subdomain", MaxLength = 253)]
    public string Name { get; init; } = "";
}
