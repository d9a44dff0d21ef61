namespace BiT.Contracts.Crds;

/// <summary>A CEL rule on the spec that applies to one kind only (both kinds share the spec type).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class SpecCelRuleAttribute(string rule, string message) : Attribute
{
    /// <summary>The CEL expression, with <c>self</c> = the spec.</summary>
    public string Rule { get; } = rule;

    /// <summary>The message the API server returns when the rule fails.</summary>
    public string Message { get; } = message;
}
