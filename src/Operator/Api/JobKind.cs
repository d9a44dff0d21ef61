namespace BiT.Operator.Api;

/// <summary>The two custom resources the operator reconciles and how the API addresses them.</summary>
public sealed record JobKind(string Kind, string Plural, string ShortLabel)
{
    public const string Group = "bit.training";
    public const string Version = "v1alpha1";
    public const string ApiVersion = Group + "/" + Version;

    public static JobKind FineTune { get; } = new("BiTFineTuneJob", "bitfinetunejobs", "finetune");

    public static JobKind Pretrain { get; } = new("BiTPretrainJob", "bitpretrainjobs", "pretrain");

    public static IReadOnlyList<JobKind> All { get; } = [FineTune, Pretrain];

    public static JobKind? FromKind(string? kind) => All.FirstOrDefault(k => k.Kind == kind);
}
