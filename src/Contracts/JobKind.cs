namespace BiT.Contracts;

/// <summary>
/// One of the two job kinds and how the API addresses it (names from <see cref="ApiInfo"/>). <see cref="ShortLabel"/>
/// is the value of the <c>kind</c> label of the operator's metrics.
/// </summary>
public sealed record JobKind(string Kind, string Plural, string ShortLabel)
{
    public static JobKind FineTune { get; } = new(ApiInfo.FineTuneKind, ApiInfo.FineTunePlural, "finetune");

    public static JobKind Pretrain { get; } = new(ApiInfo.PretrainKind, ApiInfo.PretrainPlural, "pretrain");

    public static IReadOnlyList<JobKind> All { get; } = [FineTune, Pretrain];

    /// <summary>The kind named <paramref name="kind"/>, or null.</summary>
    public static JobKind? FromKind(string? kind) => All.FirstOrDefault(k => k.Kind == kind);
}
