namespace BiT.Contracts;

/// <summary>
/// The API group, version and the names of both kinds: the one place they are written. The CRD attributes, the
/// operator's <see cref="JobKind"/> and the trainer's status patch all read them from here.
/// </summary>
public static class ApiInfo
{
    /// <summary>The API group of the custom resources.</summary>
    public const string Group = "bit.training";

    /// <summary>The served and stored version.</summary>
    public const string Version = "v1alpha1";

    /// <summary>group/version as written in apiVersion.</summary>
    public const string ApiVersion = Group + "/" + Version;

    /// <summary>Kind of the pre-training job.</summary>
    public const string PretrainKind = "BiTPretrainJob";

    /// <summary>Plural resource name of the pre-training job.</summary>
    public const string PretrainPlural = "bitpretrainjobs";

    /// <summary>Singular resource name of the pre-training job.</summary>
    public const string PretrainSingular = "bitpretrainjob";

    /// <summary>kubectl short name of the pre-training job.</summary>
    public const string PretrainShortName = "bitpt";

    /// <summary>Kind of the fine-tuning job.</summary>
    public const string FineTuneKind = "BiTFineTuneJob";

    /// <summary>Plural resource name of the fine-tuning job.</summary>
    public const string FineTunePlural = "bitfinetunejobs";

    /// <summary>Singular resource name of the fine-tuning job.</summary>
    public const string FineTuneSingular = "bitfinetunejob";

    /// <summary>kubectl short name of the fine-tuning job.</summary>
    public const string FineTuneShortName = "bitft";
}
