namespace BiT.Chart.Tests.Support;

/// <summary>The repository's folders, found from the test's output folder.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Chart => Path.Combine(Root, "charts", "bit-operator");

    public static string Monitoring => Path.Combine(Root, "monitoring");

    public static string Docs => Path.Combine(Root, "docs");

    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory).Parent?.Name ?? "Debug";

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
