namespace BiT.Model;

/// <summary>The header of a <c>.npy</c> array: its dtype descriptor, memory order, shape and format version.</summary>
/// <param name="Descr">The numpy dtype string, for example <c>&lt;f4</c> (float32, little-endian).</param>
/// <param name="FortranOrder">Whether the data is column-major (this project reads and writes row-major only).</param>
/// <param name="Shape">The array's shape; empty for a scalar.</param>
/// <param name="Version">The format's major version (1, 2 or 3).</param>
public sealed record NpyHeader(string Descr, bool FortranOrder, IReadOnlyList<long> Shape, int Version)
{
    /// <summary>The product of the shape (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => checked(a * b));

    /// <summary>The shape as numpy prints it, for messages: <c>(7, 7, 3, 64)</c>.</summary>
    public string ShapeText => Npy.FormatShape(Shape);
}
