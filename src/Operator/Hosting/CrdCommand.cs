namespace BiT.Operator.Hosting;

/// <summary><c>bit-operator crds --output DIR</c>: writes the CRDs generated from the contracts' C# types.</summary>
public static class CrdCommand
{
    public static int Run(string output, TextWriter stdout, TextWriter stderr)
    {
        stderr.WriteLine($"bit-operator crds: the CRD generator is not available yet (output {output})");
        _ = stdout;
        return 1;
    }
}
