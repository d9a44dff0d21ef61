namespace BiT.Operator.Api;

/// <summary>One problem with a spec, naming the field path (<c>spec.runPolicy.stallTimeout</c>).</summary>
public sealed record FieldError(string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";
}
