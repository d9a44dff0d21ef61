namespace BiT.Contracts.Tests;

internal static class RepoPaths
{
    /// <summary>The repository root: the first folder above the test binaries holding BiT.Operator.sln.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "BiT.Operator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no BiT.Operator.sln above {AppContext.BaseDirectory}");
    }
}
