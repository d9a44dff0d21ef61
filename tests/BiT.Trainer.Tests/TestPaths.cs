namespace BiT.Trainer.Tests;

internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    public static string FashionSubset => Path.Combine(RepoRoot, "data", "fashion-mnist-subset");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BiT.Operator.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
