using BiT.Contracts.Api;

namespace BiT.Contracts.Tests.Hostile;

/// <summary>
/// The standing hostile-manifest suite: every file in Hostile/Manifests/ starts with <c># expect: TEXT</c> and must be
/// refused by the parser and validator (the same rules the operator applies) with an error containing TEXT (an empty
/// TEXT: any clear refusal). Adding a case is adding a file.
/// </summary>
public sealed class HostileManifestTests
{
    private static readonly string Folder = Path.Combine(RepoPaths.Root, "tests", "BiT.Contracts.Tests", "Hostile", "Manifests");

    public static TheoryData<string> Files() => [.. Directory.GetFiles(Folder, "*.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Fact]
    public void The_suite_has_at_least_60_manifests() => Assert.True(Files().Count >= 60, $"{Files().Count} manifests");

    [Theory]
    [MemberData(nameof(Files))]
    public void A_hostile_manifest_is_refused_with_a_clear_error(string file)
    {
        var path = Path.Combine(Folder, file);
        var first = File.ReadLines(path).First();
        Assert.StartsWith("# expect:", first, StringComparison.Ordinal);
        var expected = first["# expect:".Length..].Trim();

        var e = Assert.Throws<ManifestException>(() => ManifestParser.ParseFile(path));

        Assert.NotEmpty(e.Errors);
        Assert.All(e.Errors, err => Assert.False(string.IsNullOrWhiteSpace(err.Message)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Length < 8192, $"the error is {e.Message.Length} characters long");
    }
}
