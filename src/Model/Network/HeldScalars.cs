using TorchSharp;

namespace BiT.Model;

/// <summary>
/// Scalars held for the life of the process. TorchSharp turns a number passed to a tensor operation into a
/// temporary <see cref="Scalar"/>, including the implicit <c>alpha = 1</c> of <c>a + b</c>, <c>a - b</c>,
/// <c>add(b)</c> and <c>add_(b)</c>, and does not keep it alive across the native call: under GC pressure its
/// finalizer can free it while libtorch still reads it ("Expected false to be true ... toFloat", seen in CI twice).
/// Per-step code passes these instead.
/// </summary>
public static class HeldScalars
{
    /// <summary>1, the alpha of a plain addition or subtraction.</summary>
    public static readonly Scalar One = 1.0.ToScalar();
}
