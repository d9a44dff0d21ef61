using System.Collections;
using System.Globalization;
using System.Reflection;
using BiT.Contracts.Api;
using BiT.Contracts.Crds;
using BiT.Contracts.Plans;

namespace BiT.Trainer.Training;

/// <summary>
/// Range checks on a plan read from a file (<c>bit-trainer train --plan</c>): the operator writes plans from validated
/// specs, but a plan file can be edited or written by anything, and a value such as <c>baseLearningRate: 1e300</c>
/// would otherwise train to NaN or overflow deep inside a step. Each resolved hyperparameter is held to the bounds
/// the spec's field of the same name declares (<see cref="HyperparametersSpec"/>'s <c>[Field]</c>), plus momentum
/// in [0, 1]; a number must be finite. Refused with a <see cref="PlanException"/> (exit 4) naming the field.
/// </summary>
public static class PlanChecks
{
    private static readonly Dictionary<string, FieldAttribute> Bounds = typeof(HyperparametersSpec)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Select(p => (p.Name, Field: p.GetCustomAttribute<FieldAttribute>()))
        .Where(p => p.Field is not null && (!double.IsNaN(p.Field.Minimum) || !double.IsNaN(p.Field.Maximum)))
        .ToDictionary(p => p.Name, p => p.Field!, StringComparer.Ordinal);

    /// <exception cref="PlanException">A hyperparameter out of range.</exception>
    public static void Check(TrainingPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var errors = new List<FieldError>();
        var h = plan.Hyperparameters;
        foreach (var property in typeof(ResolvedHyperparameters).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var value = property.GetValue(h);
            var field = "hyperparameters." + char.ToLowerInvariant(property.Name[0]) + property.Name[1..];
            Bounds.TryGetValue(property.Name, out var bounds);
            if (property.Name == nameof(ResolvedHyperparameters.Momentum))
            {
                bounds = new FieldAttribute("SGD momentum") { Minimum = 0, Maximum = 1 };
            }

            if (value is IEnumerable items and not string)
            {
                var i = 0;
                foreach (var item in items)
                {
                    CheckNumber($"{field}[{i++}]", item, bounds, errors);
                }
            }
            else
            {
                CheckNumber(field, value, bounds, errors);
            }
        }

        if (errors.Count > 0)
        {
            throw new PlanException(errors);
        }
    }

    private static void CheckNumber(string field, object? value, FieldAttribute? bounds, List<FieldError> errors)
    {
        double number;
        switch (value)
        {
            case double d:
                number = d;
                break;
            case int i:
                number = i;
                break;
            case long l:
                number = l;
                break;
            default:
                return;
        }

        var shown = number.ToString("R", CultureInfo.InvariantCulture);
        if (!double.IsFinite(number))
        {
            errors.Add(new FieldError(field, $"must be a finite number, got {shown}"));
        }
        else if (bounds is null)
        {
            return;
        }
        else if (!double.IsNaN(bounds.Minimum) && (bounds.ExclusiveMinimum ? number <= bounds.Minimum : number < bounds.Minimum))
        {
            errors.Add(new FieldError(field, string.Create(CultureInfo.InvariantCulture, $"must be {(bounds.ExclusiveMinimum ? ">" : ">=")} {bounds.Minimum}, got {shown}")));
        }
        else if (!double.IsNaN(bounds.Maximum) && number > bounds.Maximum)
        {
            errors.Add(new FieldError(field, string.Create(CultureInfo.InvariantCulture, $"must be <= {bounds.Maximum}, got {shown}")));
        }
    }
}
