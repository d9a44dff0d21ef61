using BiT.Contracts.Crds;

namespace BiT.Operator.Hosting;

/// <summary><c>bit-operator crds --output DIR</c>: writes the CRDs generated from the contracts' C# types.</summary>
public static class CrdCommand
{
    public static int Run(string output, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            foreach (var path in CrdGenerator.WriteAll(output))
            {
                stdout.WriteLine(path);
            }

            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"bit-operator crds: cannot write to '{output}': {ex.Message}");
            return 1;
        }
    }
}
