namespace BiT.Contracts.Crds;

/// <summary>
/// A CEL rule (x-kubernetes-validations) for what a structural schema cannot say. On a class it goes on that
/// object's schema; on a property on the property's schema. Rules that use <c>oldSelf</c> are transition rules.
/// The same rule is also implemented in C# by <c>SpecValidator</c>; a test keeps the two in step.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, AllowMultiple = true)]
public sealed class CelRuleAttribute(string rule, string message) : Attribute
{
    /// <summary>The CEL expression.</summary>
    public string Rule { get; } = rule;

    /// <summary>The message the API server returns when the rule fails.</summary>
    public string Message { get; } = message;

    /// <summary>Optional field path the error is reported on, relative to the schema (".model").</summary>
    public string? FieldPath { get; init; }
}
