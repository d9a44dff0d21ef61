namespace BiT.Operator.Tests.EndToEnd;

/// <summary>Finds the repository (for crds/, charts/ and the trainer's build output) from the test's output folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Crds => Path.Combine(Root, "crds");

    public static string Chart => Path.Combine(Root, "charts", "bit-operator");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "BiT.Operator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"BiT.Operator.sln not found above {AppContext.BaseDirectory}");
    }
}
