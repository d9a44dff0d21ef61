namespace BiT.Operator.Runtime;

/// <summary>Identifies one object of one kind; the work queue's key.</summary>
public readonly record struct ObjectKey(string Kind, string Namespace, string Name)
{
    public override string ToString() => $"{Kind}/{Namespace}/{Name}";
}
