namespace BiT.Contracts;

/// <summary>API group, version and kinds of the custom resources.</summary>
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

    /// <summary>Kind of the fine-tuning job.</summary>
    public const string FineTuneKind = "BiTFineTuneJob";
}
