using BiT.Contracts.Api;
using BiT.Operator.Api;

namespace BiT.Operator.Controllers;

/// <summary>
/// Which priority classes and toleration keys a job may put on its pods (chart values <c>policy.*</c>). A priority
/// class can preempt other tenants' pods and a toleration can land a job on nodes reserved for something else, so
/// neither is the job author's to choose freely.
/// </summary>
public sealed record SchedulingPolicy
{
    /// <summary>The reason of the Validated/Failed conditions when a job asks for what the policy refuses.</summary>
    public const string RefusedReason = "NotAllowedByPolicy";

    /// <summary>
    /// Priority classes a job may name: exact names or prefixes ending in '*'. Empty: any class except the
    /// built-in <c>system-*</c> ones (<c>system-node-critical</c>, <c>system-cluster-critical</c>), which preempt almost
    /// anything and are meant for the cluster's own components.
    /// </summary>
    public IReadOnlyList<string> AllowedPriorityClasses { get; init; } = [];

    /// <summary>
    /// Toleration keys a job may use: exact keys or prefixes ending in '*' (<c>*</c> allows every key, also the empty
    /// key that tolerates every taint). Empty: any key except <c>node-role.kubernetes.io/*</c> (control-plane nodes)
    /// and the empty key.
    /// </summary>
    public IReadOnlyList<string> AllowedTolerationKeys { get; init; } = [];

    public bool IsPriorityClassAllowed(string name) =>
        AllowedPriorityClasses.Count == 0
            ? !name.StartsWith("system-", StringComparison.Ordinal)
            : AllowedPriorityClasses.Any(a => Matches(a, name));

    public bool IsTolerationKeyAllowed(string? key) =>
        AllowedTolerationKeys.Count == 0
            ? !string.IsNullOrEmpty(key) && !key.StartsWith("node-role.kubernetes.io/", StringComparison.Ordinal)
            : AllowedTolerationKeys.Any(a => Matches(a, key ?? ""));

    /// <summary>One error per priority class or toleration the policy refuses, naming the field and the setting.</summary>
    public IEnumerable<FieldError> Check(JobSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Resources.PriorityClassName is { } priorityClass && !IsPriorityClassAllowed(priorityClass))
        {
            yield return new FieldError("spec.resources.priorityClassName",
                $"priority class '{priorityClass}' is not allowed by the operator's policy ({Describe(AllowedPriorityClasses, "any class but system-*")}; chart value policy.allowedPriorityClasses)");
        }

        for (var i = 0; i < settings.Resources.Tolerations.Count; i++)
        {
            var key = settings.Resources.Tolerations[i].Key;
            if (!IsTolerationKeyAllowed(key))
            {
                var shown = string.IsNullOrEmpty(key) ? "an empty key (tolerates every taint)" : $"key '{key}'";
                yield return new FieldError($"spec.resources.tolerations[{i}].key",
                    $"a toleration with {shown} is not allowed by the operator's policy ({Describe(AllowedTolerationKeys, "any key but node-role.kubernetes.io/* and the empty key")}; chart value policy.allowedTolerationKeys)");
            }
        }
    }

    private static bool Matches(string allowed, string value) =>
        allowed.EndsWith('*') ? value.StartsWith(allowed[..^1], StringComparison.Ordinal) : value == allowed;

    private static string Describe(IReadOnlyList<string> allowed, string byDefault) =>
        allowed.Count == 0 ? $"allowed: {byDefault}" : $"allowed: {string.Join(", ", allowed)}";
}
