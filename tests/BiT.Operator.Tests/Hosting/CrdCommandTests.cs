using BiT.Operator.Hosting;
using BiT.Operator.Tests.EndToEnd;

namespace BiT.Operator.Tests.Hosting;

public sealed class CrdCommandTests
{
    [Fact]
    public void Crds_writes_the_generated_crds_which_match_crds_and_the_charts_copy()
    {
        var dir = Path.Combine(Path.GetTempPath(), "bit-crds-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var stdout = new StringWriter();
            Assert.Equal(0, CrdCommand.Run(dir, stdout, TextWriter.Null));
            var written = Directory.GetFiles(dir, "*.yaml").Select(Path.GetFileName).Order().ToList();
            Assert.Equal(["bitfinetunejobs.bit.training.yaml", "bitpretrainjobs.bit.training.yaml"], written);
            foreach (var name in written)
            {
                var generated = File.ReadAllText(Path.Combine(dir, name!));
                Assert.Equal(generated, File.ReadAllText(Path.Combine(RepoPaths.Crds, name!)));
                // Helm installs the CRDs from the chart's crds/: it must not drift from crds/.
                Assert.True(generated == File.ReadAllText(Path.Combine(RepoPaths.Chart, "crds", name!)),
                    $"charts/bit-operator/crds/{name} differs from crds/{name}: copy crds/*.yaml into charts/bit-operator/crds/");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void An_unwritable_output_is_a_clear_error()
    {
        var file = Path.GetTempFileName();
        try
        {
            using var stderr = new StringWriter();
            Assert.Equal(1, CrdCommand.Run(Path.Combine(file, "sub"), TextWriter.Null, stderr));
            Assert.Contains(file, stderr.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
